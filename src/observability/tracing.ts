/**
 * @module observability/tracing
 * OpenTelemetry traces, off unless the standard `OTEL_*` variables ask for them (config.ts reads
 * them). When off there is no tracer at all, so instrumented code makes no span and pays nothing.
 * When on: one tracer provider per app (tests build several, each with its own exporter), spans
 * batched to an OTLP/HTTP endpoint (protobuf by default, JSON on request), and the AI SDK's own
 * OpenTelemetry integration for the model and tool calls. Nothing here registers a global tracer
 * provider; only the async-context manager is global, because context is process-wide by nature.
 */
import { OpenTelemetry } from '@ai-sdk/otel';
import { type Attributes, context, type Span, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Telemetry } from 'ai';
import type { TelemetrySettings } from '../config.ts';
import type { Logger } from '../log.ts';

export type Tracing = {
  /** Undefined when tracing is off: instrumented code then makes no span at all. */
  readonly tracer: Tracer | undefined;
  /** The AI SDK integration that makes the model-call and tool-call spans. */
  readonly aiTelemetry: Telemetry | undefined;
  /** Exports every finished span now (tests; shutdown). */
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
};

const OFF: Tracing = {
  tracer: undefined,
  aiTelemetry: undefined,
  forceFlush: async () => {},
  shutdown: async () => {},
};

let contextManagerSet = false;

export function createTracing(settings: TelemetrySettings, logger: Logger): Tracing {
  if (!settings.tracing) return OFF;
  if (!contextManagerSet) {
    // Parent/child across awaits: without it every span would be a root.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerSet = true;
  }
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ ...settings.resourceAttributes, 'service.name': settings.serviceName }),
    ),
    sampler: sampler(settings.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter: guarded(exporter(settings.otlp), logger) })],
  });
  const tracer = provider.getTracer('taskchat');
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    aiTelemetry: new OpenTelemetry({ tracer, agentSpanName: 'functionId' }),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => {
      stopped ??= provider.shutdown();
      return stopped;
    },
  };
}

/**
 * Runs `work` in a span named `name` that is the active one inside it (so spans made within are
 * its children), ending it when `work` settles and marking it failed when `work` throws. Without a
 * tracer it just runs `work`.
 */
export function inSpan<T>(
  tracer: Tracer | undefined,
  name: string,
  attributes: Attributes,
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracer) return work(undefined);
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed with the error's class only: messages can carry data (SQL, text). */
export function failSpan(span: Span, error: unknown): void {
  const type = (error as { name?: unknown })?.name;
  span.setAttribute('error.type', typeof type === 'string' ? type : 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR });
}

function exporter(otlp: TelemetrySettings['otlp']): SpanExporter {
  const options = {
    url: otlp.url,
    headers: { ...otlp.headers },
    timeoutMillis: otlp.timeoutMs,
    compression: otlp.compression as NonNullable<
      ConstructorParameters<typeof JsonTraceExporter>[0]
    >['compression'],
  };
  return otlp.protocol === 'http/json' ? new JsonTraceExporter(options) : new ProtobufTraceExporter(options);
}

/**
 * What reaches the exporter: spans without error messages (a provider's error text, a driver's
 * message can carry data; the error's type and stack stay), and export failures reported in our
 * log (once per run of failures) instead of OpenTelemetry's silent diag channel.
 */
function guarded(inner: SpanExporter, logger: Logger): SpanExporter {
  let failing = false;
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      inner.export(spans.map(withoutErrorMessages), (result) => {
        if (result.code === ExportResultCode.SUCCESS) {
          if (failing) logger.info('trace export recovered');
          failing = false;
        } else if (!failing) {
          failing = true;
          logger.warn('trace export failed; spans are being dropped', {
            error: result.error?.name,
            spans: spans.length,
          });
        }
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

function withoutErrorMessages(span: ReadableSpan): ReadableSpan {
  const scrub = span.status.message !== undefined || span.events.some((e) => e.name === 'exception');
  if (!scrub) return span;
  const events = span.events.map((event) => {
    if (event.name !== 'exception' || !event.attributes) return event;
    const { 'exception.message': _, ...attributes } = event.attributes;
    return { ...event, attributes };
  });
  const status = { code: span.status.code };
  return new Proxy(span, {
    get(target, property) {
      if (property === 'events') return events;
      if (property === 'status') return status;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function sampler({ name, ratio }: TelemetrySettings['sampler']): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
