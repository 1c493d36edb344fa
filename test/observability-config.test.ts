// The settings of probes, metrics and traces as config.ts reads them: HEALTH_DEGRADED_MS,
// METRICS_TOKEN and the standard OTEL_* variables (traces off unless one asks for them), with
// one clear line for a bad value and no secret in it or in the printed config.
import { describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../src/config.ts';
import { configError } from './support/config-error.ts';

describe('observability configuration', () => {
  it('defaults: no traces, open metrics, degraded above 250 ms, no prompt or output recorded', () => {
    const config = loadConfig({});
    expect(config.telemetry.tracing).toBe(false);
    expect(config.metricsToken).toBeUndefined();
    expect(config.health.degradedMs).toBe(250);
    expect(config.model.telemetry).toMatchObject({ recordInputs: false, recordOutputs: false });
  });

  it('turns traces on for an OTLP endpoint, a traces endpoint or a service name, over OTLP/HTTP protobuf', () => {
    const base = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example:4318/' }).telemetry;
    expect(base).toMatchObject({ tracing: true, serviceName: 'taskchat' });
    expect(base.otlp).toMatchObject({
      url: 'http://collector.example:4318/v1/traces',
      protocol: 'http/protobuf',
      compression: 'none',
      timeoutMs: 10_000,
    });
    const traces = loadConfig({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otlp.example/custom/path',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    }).telemetry;
    expect(traces).toMatchObject({ tracing: true });
    expect(traces.otlp).toMatchObject({
      url: 'https://otlp.example/custom/path',
      protocol: 'http/json',
      timeoutMs: 2500,
      compression: 'gzip',
    });
    const named = loadConfig({
      OTEL_SERVICE_NAME: 'chat-eu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,team=tasks%20core',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).telemetry;
    expect(named).toMatchObject({
      tracing: true,
      serviceName: 'chat-eu',
      resourceAttributes: { 'deployment.environment': 'prod', team: 'tasks core' },
      sampler: { name: 'parentbased_traceidratio', ratio: 0.25 },
    });
    expect(named.otlp.url).toBe('http://localhost:4318/v1/traces');
  });

  it('keeps traces off with OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.example:4318' };
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).telemetry.tracing).toBe(false);
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).telemetry.tracing).toBe(false);
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).telemetry.tracing).toBe(true);
  });

  it('never prints the metrics token or the OTLP header values', () => {
    const config = loadConfig({
      METRICS_TOKEN: 'metrics-secret-0123456789',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=vendor-secret-42,x-team=a%3Db',
    });
    expect(config.metricsToken).toBe('metrics-secret-0123456789');
    expect(config.telemetry.otlp.headers).toEqual({ 'x-api-key': 'vendor-secret-42', 'x-team': 'a=b' });
    const printed = JSON.stringify(redactConfig(config));
    expect(printed).not.toContain('metrics-secret-0123456789');
    expect(printed).not.toContain('vendor-secret-42');
    expect(printed).toContain('x-api-key');
  });

  it.each([
    [{ HEALTH_DEGRADED_MS: '0' }, 'HEALTH_DEGRADED_MS must be between 1 and 1499'],
    [{ HEALTH_DEGRADED_MS: '2000' }, 'HEALTH_DEGRADED_MS must be between 1 and 1499'],
    [
      { METRICS_TOKEN: 'short' },
      'METRICS_TOKEN must be at least 16 printable ASCII characters without spaces',
    ],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }, 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL'],
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (grpc is not built in)',
    ],
    [
      { OTEL_TRACES_EXPORTER: 'zipkin' },
      'OTEL_TRACES_EXPORTER must be otlp or none (zipkin is not built in)',
    ],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER must be one of'],
    [{ OTEL_TRACES_SAMPLER_ARG: '2' }, 'OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1'],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }, 'OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none'],
  ])('refuses %j with one line', (env, message) => {
    expect(configError(env)).toContain(message);
  });

  it('refuses malformed OTLP headers without echoing them', () => {
    const message = configError({ OTEL_EXPORTER_OTLP_HEADERS: 'vendor-secret-42' });
    expect(message).toBe('OTEL_EXPORTER_OTLP_HEADERS must be a list of key=value pairs');
    expect(configError({ OTEL_EXPORTER_OTLP_HEADERS: 'k=%E0%A4%A' })).not.toContain('%E0');
  });
});
