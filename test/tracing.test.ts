// OpenTelemetry traces as an OTLP/HTTP collector receives them: a receiver of our own on
// 127.0.0.1 takes what the real exporter sends. One chat turn is one trace: the request span,
// BEGIN TURN, the AI SDK's agent, step and model-call spans, each tool call with its statement,
// END TURN. Nothing the person wrote, the model answered or a tool stored appears in it.
import { tracingChannel } from 'node:diagnostics_channel';
import { AI_SDK_TELEMETRY_TRACING_CHANNEL } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Inflight } from '../src/http/inflight.ts';
import { createLogger } from '../src/log.ts';
import { createObservability } from '../src/observability/index.ts';
import { createTestApp, fakeModelEnv } from './support/app.ts';
import { createTestDb, type TestDb } from './support/db.ts';
import { type FakeOpenAI, startFakeOpenAI } from './support/fake-openai.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './support/otlp-receiver.ts';
import { parsePrometheus, sampleValue } from './support/prometheus.ts';

const USER = 'tracer-user-7';
const MESSAGE = 'please add zanzibar-message-text to my list';
const TITLE = 'zanzibar-task-title';
const REPLY = 'Added zanzibar-reply-text.';
const PRIVATE = [MESSAGE, TITLE, REPLY, USER, 'test-key'];

describe('OpenTelemetry traces', () => {
  let receiver: OtlpReceiver;
  let fake: FakeOpenAI;
  const dbs: TestDb[] = [];
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.drop()));
    await fake?.close();
    await receiver?.close();
  });

  async function build(env: Record<string, string>) {
    const db = await createTestDb('pglite', {
      extraEnv: { ...fakeModelEnv(fake), ...env },
    });
    dbs.push(db);
    const observability = createObservability(db.config, {
      database: db.database,
      logger: createLogger('silent'),
    });
    const inflight = new Inflight();
    const app = createTestApp(db, { observability, inflight });
    const chat = (body: unknown, headers: Record<string, string> = {}) =>
      app.request('/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': USER, ...headers },
        body: JSON.stringify(body),
      });
    return { app, chat, observability, inflight };
  }

  /** The trace of the turn whose BEGIN TURN carried `messageId`, and its request span. */
  function traceOf(messageId: string) {
    const begin = receiver
      .spans()
      .find((s) => s.name === 'BEGIN TURN' && s.attributes['taskchat.message.id'] === messageId);
    if (!begin) throw new Error(`no BEGIN TURN span for ${messageId}`);
    const spans = receiver.spans().filter((s) => s.traceId === begin.traceId);
    const one = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(
        found.map((s) => s.name),
        name,
      ).toEqual([name]);
      return found[0] as ReceivedSpan;
    };
    return { root: one('POST /chat'), spans, one };
  }

  it('exports one trace per turn with BEGIN TURN, model calls, tool call and statement, END TURN (OTLP JSON)', async () => {
    const t = await build({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'taskchat-test',
    });
    expect((await t.app.request('/livez')).status).toBe(200);
    fake.reply({ toolCalls: [{ name: 'add_task', args: { title: TITLE } }] }, { text: REPLY });
    // A caller's W3C trace context: the turn joins that trace.
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await t.chat(
      { message: MESSAGE, messageId: 'trace-json-1' },
      { traceparent: `00-${callerTrace}-${callerSpan}-01` },
    );
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { conversationId: string; reply: string };
    expect(answer.reply).toBe(REPLY);
    await t.observability.tracing.forceFlush();

    const json = receiver.exports.filter((e) => e.contentType.startsWith('application/json'));
    expect(json.length).toBeGreaterThan(0);
    expect(json.every((e) => e.path === '/v1/traces')).toBe(true);

    const { root, spans, one } = traceOf('trace-json-1');
    expect(root).toMatchObject({
      name: 'POST /chat',
      kind: 2,
      traceId: callerTrace,
      parentSpanId: callerSpan,
    });
    expect(root.attributes).toMatchObject({ 'http.route': '/chat', 'http.response.status_code': 200 });
    expect(root.resource['service.name']).toBe('taskchat-test');

    const begin = one('BEGIN TURN');
    const agent = one('invoke_agent taskchat.turn');
    const tool = one('execute_tool add_task');
    const statement = one('tasks.add');
    const end = one('END TURN');
    const steps = spans.filter((s) => s.name.startsWith('step '));
    const modelCalls = spans.filter((s) => s.name === 'chat fake-model');
    expect(begin.parentSpanId).toBe(root.spanId);
    expect(agent.parentSpanId).toBe(root.spanId);
    expect(end.parentSpanId).toBe(root.spanId);
    expect(steps.map((s) => s.parentSpanId)).toEqual([agent.spanId, agent.spanId]);
    expect(modelCalls).toHaveLength(2);
    expect(new Set(modelCalls.map((s) => s.parentSpanId))).toEqual(new Set(steps.map((s) => s.spanId)));
    expect(steps.map((s) => s.spanId)).toContain(tool.parentSpanId);
    expect(statement.parentSpanId).toBe(tool.spanId);
    // BEGIN TURN ends before END TURN starts. The model loop's spans come from the AI SDK, timed by
    // the wall clock, while ours are timed by the monotonic clock (OpenTelemetry's hrTime), and the
    // two drift apart by milliseconds in a long process: only our own spans' times are compared, with
    // the millisecond of rounding OpenTelemetry's Date.now() anchoring allows (see the stream test).
    expect(begin.end <= end.start + 1_000_000n).toBe(true);
    expect(agent.start <= agent.end).toBe(true);

    // Ids and counts: the conversation, the client's message id, the task the statement made.
    expect(begin.attributes).toMatchObject({
      'taskchat.conversation.id': answer.conversationId,
      'taskchat.message.id': 'trace-json-1',
      'taskchat.turn.begin': 'started',
      'taskchat.history.messages': 1,
    });
    expect(end.attributes).toMatchObject({ 'taskchat.turn.status': 'done', 'taskchat.turn.stored': true });
    expect(statement.attributes).toMatchObject({ 'db.operation.name': 'INSERT', 'taskchat.task.id': 1 });
    expect(tool.attributes['gen_ai.tool.name']).toBe('add_task');
    expect(tool.attributes).not.toHaveProperty('gen_ai.tool.call.arguments');
    expect(tool.attributes).not.toHaveProperty('gen_ai.tool.call.result');

    // Probes are not traced; nothing private is in any export, whatever the attribute.
    expect(receiver.spans().filter((s) => s.attributes['url.path'] === '/livez')).toEqual([]);
    const exported = json.map((e) => e.body.toString('utf8')).join('\n');
    for (const text of PRIVATE) expect(exported, text).not.toContain(text);

    // Metrics do not depend on traces: with them on, the model and tool calls are counted once.
    const metrics = parsePrometheus(await (await t.app.request('/metrics')).text());
    const calls = { model: 'fake-model', outcome: 'ok' };
    expect(sampleValue(metrics, 'taskchat_model_call_duration_seconds_count', calls)).toBe(2);
    expect(sampleValue(metrics, 'taskchat_tool_calls_total', { tool: 'add_task', outcome: 'ok' })).toBe(1);
  });

  it('keeps a streamed turn inside its request span until the turn is stored', async () => {
    const t = await build({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    fake.reply({ toolCalls: [{ name: 'list_tasks', args: {} }] }, { text: REPLY });
    const res = await t.chat(
      { message: MESSAGE, messageId: 'trace-stream-1' },
      { accept: 'text/event-stream' },
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"type":"finish"');
    await t.inflight.idle();
    await t.observability.tracing.forceFlush();

    const { root, one } = traceOf('trace-stream-1');
    const end = one('END TURN');
    expect(one('tasks.list').parentSpanId).toBe(one('execute_tool list_tasks').spanId);
    expect(end.parentSpanId).toBe(root.spanId);
    // OpenTelemetry anchors each span's clock to Date.now() (whole milliseconds) when it starts, so
    // two spans' times can disagree by up to a millisecond: "no later" allows that rounding.
    expect(end.end <= root.end + 1_000_000n).toBe(true);
  });

  it('sends OTLP protobuf by default, with the span names and without the private text', async () => {
    const t = await build({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    const before = receiver.exports.length;
    fake.reply({ toolCalls: [{ name: 'add_task', args: { title: TITLE } }] }, { text: REPLY });
    expect((await t.chat({ message: MESSAGE, messageId: 'trace-proto-1' })).status).toBe(200);
    await t.observability.tracing.forceFlush();

    const sent = receiver.exports.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((e) => e.contentType === 'application/x-protobuf' && e.path === '/v1/traces')).toBe(
      true,
    );
    // Protobuf carries strings as UTF-8 bytes: names can be found, and so could leaked text.
    const bytes = Buffer.concat(sent.map((e) => e.body)).toString('latin1');
    for (const name of ['POST /chat', 'BEGIN TURN', 'execute_tool add_task', 'tasks.add', 'END TURN']) {
      expect(bytes).toContain(name);
    }
    for (const text of PRIVATE) expect(bytes, text).not.toContain(text);
  });

  it('makes no tracer when no OTEL_* variable asks for one, or when OTEL_SDK_DISABLED=true', async () => {
    const envs: Record<string, string>[] = [
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SDK_DISABLED: 'true' },
    ];
    // Nor any AI SDK telemetry: enabled, it would trace every step on its diagnostics channel.
    const sdkEvents: unknown[] = [];
    const channel = tracingChannel(AI_SDK_TELEMETRY_TRACING_CHANNEL);
    const listeners = { start: (message: unknown) => void sdkEvents.push(message) };
    channel.subscribe(listeners);
    try {
      for (const env of envs) {
        const t = await build(env);
        expect(t.observability.tracing.tracer).toBeUndefined();
        const before = receiver.exports.length;
        fake.reply({ text: 'ok' });
        expect((await t.chat({ message: 'hello' })).status).toBe(200);
        await t.observability.tracing.forceFlush();
        expect(receiver.exports.length).toBe(before);
      }
    } finally {
      channel.unsubscribe(listeners);
    }
    expect(sdkEvents).toEqual([]);
  });
});
