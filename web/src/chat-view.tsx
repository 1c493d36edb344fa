/**
 * One conversation, driven by the AI SDK's `useChat` with its DefaultChatTransport and the
 * transport's DEFAULT request body (`{id, messages, trigger, messageId}`): no body mapping, so
 * this page is the proof that the server accepts exactly what the SDK sends. The chat `id` is
 * the conversation id. Mounted with `key={id}`, because useChat keeps one Chat per id.
 *
 * A tool call that waits for the user (APPROVAL_POLICY) shows Approve / Deny on its card, also
 * after a reload (the stored messages keep it in state `approval-requested`): the answer is the
 * SDK's `addToolApprovalResponse`, sent by `sendAutomaticallyWhen` once every waiting call of the
 * message is decided; the server's answer continues that same message.
 *
 * An answer outlives the page: with `resume: true` useChat asks `GET /chat/:id/stream` on mount,
 * so a page reloaded mid-answer shows the answer again from its start and follows it to its end.
 * Stop asks the server to stop the turn (`POST /chat/:id/stop`: the text so far is kept as the
 * answer), then stops reading; closing the stream alone would leave the turn running.
 */
import { useChat } from '@ai-sdk/react';
import {
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithApprovalResponses,
  type UIMessage,
} from 'ai';
import { type KeyboardEvent, useEffect, useMemo, useRef, useState } from 'react';
import { newId, reportUnauthorized, requestHeaders } from './api.ts';
import { MessageView } from './message-view.tsx';
import { offlineExamples } from './offline-examples.ts';
import { type Problem, problemFromChatError } from './problems.ts';

type Props = {
  id: string;
  initialMessages: UIMessage[];
  offline: boolean;
  /** A turn ended (answer stored, or failed): the app refreshes its lists. */
  onTurnEnded(message: UIMessage): void;
  /** The assistant said it is the offline command reader. */
  onOfflineDetected(): void;
};

const OFFLINE_TEXT = /offline command mode|command parser|command reader/i;

export function ChatView({ id, initialMessages, offline, onTurnEnded, onOfflineDetected }: Props) {
  // The transport's error carries the response body but not its headers; Retry-After (429, 503)
  // is kept here from the same response, without touching the request.
  const retryAfter = useRef<string | null>(null);
  const transport = useMemo(
    () =>
      new DefaultChatTransport<UIMessage>({
        api: '/chat',
        headers: () => requestHeaders(),
        fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
          const response = await fetch(input, init);
          retryAfter.current = response.ok ? null : response.headers.get('retry-after');
          return response;
        },
      }),
    [],
  );
  const {
    messages,
    sendMessage,
    regenerate,
    stop,
    status,
    error,
    clearError,
    setMessages,
    addToolApprovalResponse,
  } = useChat({
    id,
    messages: initialMessages,
    transport,
    resume: true,
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    // The user message id is the server's idempotency key; a UUID makes collisions a non-question.
    generateId: newId,
    onFinish: ({ message }) => onTurnEnded(message),
  });
  // A retry repeats what failed: a resend of the same user message (same id, so the server re-runs
  // that turn instead of storing the message twice) or a regenerate.
  const lastAction = useRef<'send' | 'regenerate'>('send');
  const [draft, setDraft] = useState('');
  const busy = status === 'submitted' || status === 'streaming';

  const problem = useMemo(
    () => (error ? { ...problemFromChatError(error, retryAfter.current), at: Date.now() } : undefined),
    [error],
  );
  useEffect(() => {
    if (problem?.askCredentials) reportUnauthorized(problem);
  }, [problem]);

  useEffect(() => {
    const said = messages.some(
      (m) => m.role === 'assistant' && m.parts.some((p) => p.type === 'text' && OFFLINE_TEXT.test(p.text)),
    );
    if (said) onOfflineDetected();
  }, [messages, onOfflineDetected]);

  // The list follows the conversation to its end: when it grows, and also when the list itself
  // gets shorter (the offline banner appearing above it after a reload, a window resized), which
  // left the last reply cut off at the bottom. Scrolled up to read, it stays put until the next turn.
  const list = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  useEffect(() => {
    const element = list.current;
    if (!element) return;
    const toEnd = () => {
      if (following.current) element.scrollTop = element.scrollHeight;
    };
    // Only the person scrolling up stops the following: a scroll event can arrive after the list
    // got shorter, and must not read as that.
    let lastTop = element.scrollTop;
    const onScroll = () => {
      if (element.scrollHeight - element.scrollTop - element.clientHeight < 8) following.current = true;
      else if (element.scrollTop < lastTop) following.current = false;
      lastTop = element.scrollTop;
    };
    const resized = new ResizeObserver(toEnd);
    resized.observe(element);
    element.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      resized.disconnect();
      element.removeEventListener('scroll', onScroll);
    };
  }, []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: follows the conversation as it grows
  useEffect(() => {
    following.current = true;
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [messages, status]);

  const send = () => {
    const text = draft.trim();
    if (!text || busy) return;
    lastAction.current = 'send';
    setDraft('');
    void sendMessage({ text });
  };

  const stopAnswer = async () => {
    // Whatever the server says (no turn running any more, or unreachable), the page stops reading.
    await fetch(`/chat/${encodeURIComponent(id)}/stop`, { method: 'POST', headers: requestHeaders() }).catch(
      () => undefined,
    );
    await stop();
  };

  const retry = () => {
    const lastUser = messages.findLast((m) => m.role === 'user');
    if (!lastUser) return;
    if (lastAction.current === 'regenerate') {
      void regenerate();
      return;
    }
    void sendMessage({ text: textOf(lastUser), messageId: lastUser.id });
  };

  // A refused message (too long, invalid) goes back into the composer instead of staying as if sent.
  const edit = () => {
    const lastUser = messages.findLast((m) => m.role === 'user');
    if (!lastUser) return;
    setMessages(messages.slice(0, messages.indexOf(lastUser)));
    setDraft(textOf(lastUser));
    clearError();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };

  const last = messages.at(-1);
  return (
    <div className="chat-view">
      <div className="messages" aria-live="polite" ref={list}>
        {messages.length === 0 ? <EmptyState offline={offline} onPick={setDraft} /> : null}
        <ol>
          {messages.map((message) => (
            <MessageView
              key={message.id}
              message={message}
              onDecide={
                busy
                  ? undefined
                  : (approvalId, approved) => void addToolApprovalResponse({ id: approvalId, approved })
              }
            />
          ))}
          {status === 'submitted' ? (
            <li className="message assistant thinking">
              <div className="bubble">
                <span className="dots" aria-hidden="true">
                  <i />
                  <i />
                  <i />
                </span>
                <span className="visually-hidden">Thinking…</span>
              </div>
            </li>
          ) : null}
        </ol>
        {status === 'ready' && last?.role === 'assistant' ? (
          <div className="after-answer">
            <button
              type="button"
              className="link-button"
              onClick={() => {
                lastAction.current = 'regenerate';
                void regenerate();
              }}
            >
              ↻ Regenerate answer
            </button>
          </div>
        ) : null}
        {problem ? (
          <ChatProblem problem={problem} onRetry={retry} onEdit={edit} onDismiss={clearError} />
        ) : null}
      </div>
      <form
        className="composer"
        onSubmit={(event) => {
          event.preventDefault();
          send();
        }}
      >
        <textarea
          aria-label="Message"
          placeholder={offline ? `A command, e.g. ${offlineExamples()[0]}` : 'Message taskchat…'}
          value={draft}
          rows={1}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={onKeyDown}
        />
        {busy ? (
          <button type="button" onClick={() => void stopAnswer()}>
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={draft.trim() === ''}>
            Send
          </button>
        )}
      </form>
      <p className="composer-hint">Enter sends · Shift+Enter for a new line</p>
    </div>
  );
}

function textOf(message: UIMessage): string {
  return message.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

function EmptyState({ offline, onPick }: { offline: boolean; onPick(text: string): void }) {
  const examples = offline
    ? offlineExamples()
    : ['Remind me to buy milk tomorrow', 'What is still pending?', 'Mark task 1 as done'];
  return (
    <div className="empty-state">
      <h2>What needs doing?</h2>
      {offline ? (
        <p className="offline-note">
          This is taskchat's <strong>offline command reader</strong>, not an AI: it understands commands like
          these, and says so when it does not.
        </p>
      ) : (
        <p>Tell taskchat about your tasks: it adds, updates, completes and lists them for you.</p>
      )}
      <div className="examples">
        {examples.map((example) => (
          <button key={example} type="button" className="chip" onClick={() => onPick(example)}>
            {example}
          </button>
        ))}
      </div>
    </div>
  );
}

function ChatProblem({
  problem,
  onRetry,
  onEdit,
  onDismiss,
}: {
  problem: Problem & { at: number };
  onRetry(): void;
  onEdit(): void;
  onDismiss(): void;
}) {
  const remaining = useCountdown(problem.at + (problem.retryAfterSeconds ?? 0) * 1000);
  const waiting = problem.code === 'rate_limited' && remaining > 0;
  return (
    <div className="problem" role="alert" data-code={problem.code ?? 'stream'}>
      <p className="problem-sentence">
        {waiting ? problem.sentence.replace(/\d+ s\./, `${remaining} s.`) : problem.sentence}
      </p>
      {problem.serverMessage && problem.serverMessage !== problem.sentence ? (
        <p className="problem-detail">Server said: {problem.serverMessage}</p>
      ) : null}
      <div className="problem-actions">
        {problem.retry && !problem.askCredentials ? (
          <button type="button" className="primary" onClick={onRetry} disabled={waiting}>
            {waiting ? `Retry in ${remaining} s` : 'Retry'}
          </button>
        ) : null}
        {problem.askCredentials ? (
          <button type="button" className="primary" onClick={onRetry}>
            Retry after signing in
          </button>
        ) : null}
        {!problem.retry ? (
          <button type="button" onClick={onEdit}>
            Edit message
          </button>
        ) : null}
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
    </div>
  );
}

/** Whole seconds left until `until` (epoch ms), ticking once a second. */
function useCountdown(until: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (until <= Date.now()) return;
    const timer = setInterval(() => {
      setNow(Date.now());
      if (Date.now() >= until) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [until]);
  return Math.max(0, Math.ceil((until - now) / 1000));
}
