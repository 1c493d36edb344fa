// A scripted model for approval tests: "delete N" calls delete_task, "add X" add_task; after a
// tool result it repeats what it was told, so a test reads what the model got (a result, a denial).
import { type FakeRequest, type FakeScript, lastUserText } from './fake-openai.ts';

/** The text of the newest tool result the model was given (what it is told of a call). */
function lastToolText(req: FakeRequest): string {
  const tool = req.messages.filter((m) => m?.role === 'tool').at(-1);
  return typeof tool?.content === 'string' ? tool.content : JSON.stringify(tool?.content ?? '');
}

// "delete N" calls delete_task; "add X" add_task; after a tool result the model repeats what it was told.
export const approvalScript: FakeScript = (req) => {
  if (req.messages.at(-1)?.role === 'tool') return { text: `Tool said: ${lastToolText(req)}` };
  const text = lastUserText(req);
  const del = /^delete (\d+)$/.exec(text);
  if (del) return { toolCalls: [{ name: 'delete_task', args: { task_id: Number(del[1]) } }] };
  const add = /^add (.+)$/.exec(text);
  if (add) return { toolCalls: [{ name: 'add_task', args: { title: add[1] } }] };
  return { text: 'OK.' };
};
