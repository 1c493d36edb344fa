/**
 * The page: conversations on the left (`GET /conversations`), the open conversation in the
 * middle (ChatView around `useChat`), the task panel on the right. It owns what the parts share:
 * who the user is, which conversation is open (also in the URL hash, so a reload keeps it), when
 * the lists must reload (a turn's tools, an Undo, or a live event from GET /events: ./live-events.ts),
 * and whether the server runs the offline command model. At phone width
 * both side columns become drawers.
 */
import { isToolUIPart, type UIMessage } from 'ai';
import { useCallback, useEffect, useReducer, useState } from 'react';
import {
  ApiProblem,
  type AuthMode,
  api,
  type ConversationSummary,
  type Credentials,
  loadAuthMode,
  loadCredentials,
  newId,
  onUnauthorized,
  saveCredentials,
} from './api.ts';
import { ChatView } from './chat-view.tsx';
import { CredentialsDialog } from './credentials-dialog.tsx';
import { followEvents } from './live-events.ts';
import { offlineExamples } from './offline-examples.ts';
import type { Problem } from './problems.ts';
import { notifyBrowser, ReminderNotices, type ShownReminder } from './reminder-notices.tsx';
import { TaskPanel } from './task-panel.tsx';
import { onTasksChanged } from './undo.tsx';
import { UsageMeter } from './usage-meter.tsx';

/**
 * The open conversation. `id` is the chat id (the URL's, what useChat sends); a conversation the
 * page started has a chat id of its own, and `conversationId` is then the server's id for it (in
 * its messages' metadata), which is the one `GET /conversations` lists.
 */
type Current =
  | { id: string; state: 'loading' }
  | { id: string; state: 'ready'; messages: UIMessage[]; conversationId?: string | undefined }
  | { id: string; state: 'failed'; problem: Problem };

type Drawer = 'none' | 'conversations' | 'tasks';

function idFromHash(): string | undefined {
  const match = /^#\/c\/([\x21-\x7e]{1,128})$/.exec(location.hash);
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}

function sameIdentity(a: Credentials | undefined, b: Credentials): boolean {
  if (!a || a.kind !== b.kind) return false;
  return a.kind === 'user' ? a.userId === (b as typeof a).userId : a.token === (b as typeof a).token;
}

export function App() {
  const [credentials, setCredentials] = useState(loadCredentials);
  const [askReason, setAskReason] = useState<Problem>();
  const [askOpen, setAskOpen] = useState(false);
  const [conversations, setConversations] = useState<ConversationSummary[]>();
  const [listProblem, setListProblem] = useState<Problem>();
  const [current, setCurrent] = useState<Current>();
  const [tasksVersion, bumpTasks] = useReducer((n: number) => n + 1, 0);
  const [turnsEnded, bumpTurns] = useReducer((n: number) => n + 1, 0);
  const [pendingCount, setPendingCount] = useState(0);
  const [offline, setOffline] = useState(false);
  const [offlineDismissed, setOfflineDismissed] = useState(false);
  const [drawer, setDrawer] = useState<Drawer>('none');
  const [confirmDelete, setConfirmDelete] = useState<string>();
  const [reminders, setReminders] = useState<ShownReminder[]>([]);

  useEffect(
    () =>
      onUnauthorized((problem) => {
        setAskReason(problem);
        setAskOpen(true);
      }),
    [],
  );

  // An Undo anywhere on the page (a tool card, the panel) changed tasks: the panel reloads.
  useEffect(() => onTasksChanged(bumpTasks), []);

  // Live events: a change from anywhere (MCP, another tab, the REST API) reloads the panel; a
  // reminder shows. One stream per signed-in identity.
  useEffect(() => {
    if (!credentials) return;
    setReminders([]);
    return followEvents({
      onTasksChanged: bumpTasks,
      onReminder: (reminder) => {
        notifyBrowser(reminder);
        setReminders((shown) => [...shown.slice(-4), { ...reminder, key: Date.now() + Math.random() }]);
      },
    });
  }, [credentials]);
  const dismissReminder = useCallback(
    (key: number) => setReminders((shown) => shown.filter((r) => r.key !== key)),
    [],
  );

  const [authMode, setAuthMode] = useState<AuthMode>();
  useEffect(() => {
    loadAuthMode().then(setAuthMode);
  }, []);

  // /health says `"model": "offline"` when the offline command reader answers, so the page says so
  // before the first message (a real model's id is not told without auth).
  useEffect(() => {
    fetch('/health')
      .then((r) => r.json())
      .then((health: { model?: unknown }) => {
        if (health.model === 'offline') setOffline(true);
      })
      .catch(() => {});
  }, []);

  const loadConversations = useCallback(async () => {
    try {
      const { conversations } = await api<{ conversations: ConversationSummary[] }>('/conversations');
      setConversations(conversations);
      setListProblem(undefined);
    } catch (error) {
      if (error instanceof ApiProblem) setListProblem(error.problem);
      else throw error;
    }
  }, []);

  const newConversation = useCallback(() => {
    const id = newId();
    setCurrent({ id, state: 'ready', messages: [] });
    history.replaceState(null, '', `#/c/${id}`);
    setDrawer('none');
  }, []);

  const openConversation = useCallback(async (id: string, fromList: boolean) => {
    setCurrent({ id, state: 'loading' });
    history.replaceState(null, '', `#/c/${id}`);
    setDrawer('none');
    try {
      const { messages } = await api<{ messages: UIMessage[] }>(
        `/conversations/${encodeURIComponent(id)}/messages`,
      );
      const conversationId = conversationIdOf(messages[0]);
      setCurrent((c) => (c?.id === id ? { id, state: 'ready', messages, conversationId } : c));
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      // An id from the URL that was never sent to is simply a new conversation.
      const fresh = error.problem.code === 'not_found' && !fromList;
      setCurrent((c) =>
        c?.id !== id
          ? c
          : fresh
            ? { id, state: 'ready', messages: [] }
            : { id, state: 'failed', problem: error.problem },
      );
    }
  }, []);

  // Signed in (or switched user): load the lists and open the conversation the URL names.
  useEffect(() => {
    if (!credentials) return;
    void loadConversations();
    const fromHash = idFromHash();
    if (fromHash) void openConversation(fromHash, false);
    else newConversation();
  }, [credentials, loadConversations, openConversation, newConversation]);

  const saveIdentity = (next: Credentials) => {
    const changed = !sameIdentity(credentials, next);
    saveCredentials(next);
    setAskReason(undefined);
    setAskOpen(false);
    if (changed) {
      if (credentials) history.replaceState(null, '', location.pathname);
      setCredentials(next);
      bumpTasks();
    } else {
      void loadConversations();
      bumpTasks();
    }
  };

  const deleteConversation = async (id: string) => {
    setConfirmDelete(undefined);
    try {
      await api<void>(`/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      if (error.problem.code !== 'not_found') setListProblem(error.problem);
    }
    if (current?.id === id) newConversation();
    await loadConversations();
  };

  const onTurnEnded = useCallback(
    (message: UIMessage) => {
      const conversationId = conversationIdOf(message);
      if (conversationId) {
        setCurrent((c) => (c?.state === 'ready' && !c.conversationId ? { ...c, conversationId } : c));
      }
      void loadConversations();
      bumpTurns();
      if (message.parts.some(isToolUIPart)) bumpTasks();
    },
    [loadConversations],
  );
  const onOfflineDetected = useCallback(() => setOffline(true), []);
  const onCount = useCallback((n: number) => setPendingCount(n), []);

  const who =
    credentials?.kind === 'user'
      ? credentials.userId
      : credentials
        ? tokenSubject(credentials.token)
        : undefined;
  return (
    <div className="app" data-drawer={drawer}>
      <header className="topbar">
        <button
          type="button"
          className="icon-button only-narrow"
          aria-label="Conversations"
          onClick={() => setDrawer(drawer === 'conversations' ? 'none' : 'conversations')}
        >
          ☰
        </button>
        <h1 className="brand">taskchat</h1>
        <div className="topbar-end">
          <UsageMeter version={turnsEnded} signedIn={credentials !== undefined} />
          {who ? (
            <button type="button" className="identity" onClick={() => setAskOpen(true)} title="Switch user">
              {who}
            </button>
          ) : null}
          <button
            type="button"
            className="only-narrow tasks-toggle"
            onClick={() => setDrawer(drawer === 'tasks' ? 'none' : 'tasks')}
          >
            Tasks{pendingCount ? ` (${pendingCount})` : ''}
          </button>
        </div>
      </header>

      <aside className="sidebar" aria-label="Conversations">
        <button type="button" className="primary new-chat" onClick={newConversation}>
          + New conversation
        </button>
        {listProblem ? (
          <div className="problem small" role="alert">
            <p className="problem-sentence">{listProblem.sentence}</p>
          </div>
        ) : null}
        <ul className="conversations">
          {conversations?.map((c) => (
            <li key={c.id} className={isOpen(current, c.id) ? 'active' : ''}>
              <button
                type="button"
                className="conversation"
                onClick={() => void openConversation(c.id, true)}
              >
                <span className="conversation-title">{c.title || 'Untitled'}</span>
                <span className="conversation-date">{formatDate(c.updatedAt)}</span>
              </button>
              {confirmDelete === c.id ? (
                <button type="button" className="danger small" onClick={() => void deleteConversation(c.id)}>
                  Delete?
                </button>
              ) : (
                <button
                  type="button"
                  className="icon-button delete"
                  aria-label={`Delete conversation ${c.title}`}
                  onClick={() => setConfirmDelete(c.id)}
                >
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
        {conversations?.length === 0 ? <p className="muted small">No conversations yet.</p> : null}
      </aside>

      <main className="main">
        {offline && !offlineDismissed ? (
          <div className="banner" role="note">
            <p>
              This server runs taskchat's <strong>offline command reader</strong>, not an AI model: type
              commands such as <code>{offlineExamples()[1]}</code>, <code>list</code> or <code>done 1</code> (
              <code>help</code> lists them). Whoever runs the server can set <code>OPENAI_API_KEY</code> for a
              real model.
            </p>
            <button
              type="button"
              className="icon-button"
              aria-label="Hide"
              onClick={() => setOfflineDismissed(true)}
            >
              ×
            </button>
          </div>
        ) : null}
        {current?.state === 'ready' ? (
          <ChatView
            key={current.id}
            id={current.id}
            initialMessages={current.messages}
            offline={offline}
            onTurnEnded={onTurnEnded}
            onOfflineDetected={onOfflineDetected}
          />
        ) : null}
        {current?.state === 'loading' ? <p className="muted center">Loading conversation…</p> : null}
        {current?.state === 'failed' ? (
          <div className="problem" role="alert">
            <p className="problem-sentence">
              This conversation could not be opened. {current.problem.sentence}
            </p>
            {current.problem.serverMessage ? (
              <p className="problem-detail">Server said: {current.problem.serverMessage}</p>
            ) : null}
            <div className="problem-actions">
              <button
                type="button"
                className="primary"
                onClick={() => void openConversation(current.id, true)}
              >
                Retry
              </button>
              <button type="button" onClick={newConversation}>
                New conversation
              </button>
            </div>
          </div>
        ) : null}
      </main>

      <aside className="side-tasks">
        {credentials ? <ReminderNotices reminders={reminders} onDismiss={dismissReminder} /> : null}
        {credentials ? <TaskPanel version={tasksVersion} onCount={onCount} /> : null}
      </aside>

      <button type="button" className="scrim" aria-label="Close panel" onClick={() => setDrawer('none')} />

      {!credentials || askOpen ? (
        <CredentialsDialog
          current={credentials}
          mode={authMode}
          reason={askReason}
          onSave={saveIdentity}
          onCancel={credentials && !askReason ? () => setAskOpen(false) : undefined}
        />
      ) : null}
    </div>
  );
}

/** Whether the listed conversation `id` is the open one, by either of its ids. */
function isOpen(current: Current | undefined, id: string): boolean {
  return current?.id === id || (current?.state === 'ready' && current.conversationId === id);
}

/** The server's id of the conversation a message belongs to, from its metadata. */
function conversationIdOf(message: UIMessage | undefined): string | undefined {
  const id = (message?.metadata as { conversationId?: unknown } | undefined)?.conversationId;
  return typeof id === 'string' ? id : undefined;
}

/** The token's `sub`, for display only: the server is the one that verifies the token. */
function tokenSubject(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const json: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    const sub = (json as { sub?: unknown } | null)?.sub;
    if (typeof sub === 'string' && sub) return sub;
  } catch {
    // Not a JWT the page can read; it may still be one the server accepts.
  }
  return 'signed in with a token';
}

function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString([], { month: 'short', day: 'numeric' });
}
