// The AI SDK's framework-free chat client, as `useChat` runs it, for Node tests: `AbstractChat`
// with a minimal in-memory `ChatState` (what @ai-sdk/react's Chat adds is React state).
import { AbstractChat, type ChatInit, type ChatState, type ChatStatus, type UIMessage } from 'ai';

export type Metadata = { conversationId: string; createdAt: string };
export type Message = UIMessage<Metadata>;

class MemoryChatState implements ChatState<Message> {
  status: ChatStatus = 'ready';
  error: Error | undefined = undefined;
  messages: Message[];
  constructor(messages: Message[] = []) {
    this.messages = messages;
  }
  pushMessage = (message: Message) => {
    this.messages = [...this.messages, message];
  };
  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (index: number, message: Message) => {
    this.messages = this.messages.map((m, i) => (i === index ? message : m));
  };
  snapshot = <T>(thing: T): T => structuredClone(thing);
}

export class NodeChat extends AbstractChat<Message> {
  constructor({ messages, ...init }: ChatInit<Message>) {
    super({ ...init, state: new MemoryChatState(messages) });
  }
}
