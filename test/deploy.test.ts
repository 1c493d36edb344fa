// The Dockerfile and the Kubernetes manifests (deploy/) checked against the code they deploy:
// probe paths the server answers, the port it listens on, env names config.ts reads, commands
// that point at files that exist, a grace period longer than the drain. The manifests are
// rendered with kustomize (standalone `kustomize` or `kubectl kustomize`, whichever is on PATH);
// without either, the base's resource files are read as they are and the overlay is not rendered.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config.ts';
import { type Child, startMain } from './support/process.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const at = (...parts: string[]) => join(ROOT, ...parts);

// The probe endpoints CONTRACT.md promises.
const PROBE_PATHS = ['/livez', '/readyz', '/health'];

type K8s = {
  kind: string;
  apiVersion: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: any;
};

// ---- rendering ----

type Renderer = { name: string; render(dir: string): string };

function findRenderer(): Renderer | undefined {
  const paths = [at('node_modules', '.bin'), ...(process.env.PATH ?? '').split(':')];
  const on = (bin: string) => paths.map((p) => join(p, bin)).find((file) => existsSync(file));
  const run = (file: string, args: string[]) => {
    const result = spawnSync(file, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed:\n${result.stderr}`);
    return result.stdout;
  };
  const kustomize = on('kustomize');
  if (kustomize) return { name: kustomize, render: (dir) => run(kustomize, ['build', dir]) };
  const kubectl = on('kubectl');
  if (kubectl) return { name: `${kubectl} kustomize`, render: (dir) => run(kubectl, ['kustomize', dir]) };
  return undefined;
}

const renderer = findRenderer();

function documents(text: string): K8s[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8s)
    .filter(Boolean);
}

/** The base as kustomize renders it, or (no renderer) its resource files as written. */
function loadBase(): K8s[] {
  if (renderer) return documents(renderer.render(at('deploy', 'base')));
  const kustomization = parse(readFileSync(at('deploy', 'base', 'kustomization.yaml'), 'utf8'));
  return (kustomization.resources as string[]).flatMap((file) =>
    documents(readFileSync(at('deploy', 'base', file), 'utf8')),
  );
}

const base = loadBase();
const one = (kind: string, name?: string) => {
  const found = base.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]!;
};
const deployment = () => one('Deployment', 'taskchat');
const server = () => deployment().spec.template.spec.containers[0];
const job = () => one('Job', 'taskchat-migrate');
const workerDeployment = () => one('Deployment', 'taskchat-worker');
const containers = () =>
  base.flatMap((d) => (d.spec?.template?.spec?.containers ?? []) as any[]).filter(Boolean);

// ---- the Dockerfile ----

type Instruction = { op: string; args: string; stage: number };

function readDockerfile(): Instruction[] {
  const text = readFileSync(at('Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  let stage = -1;
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
      if (op.toUpperCase() === 'FROM') stage++;
      return { op: op.toUpperCase(), args: args.trim(), stage };
    });
}

const dockerfile = readDockerfile();
const finalStage = Math.max(...dockerfile.map((i) => i.stage));
const final = (op: string) => dockerfile.filter((i) => i.stage === finalStage && i.op === op);
const imageEnv = Object.fromEntries(
  final('ENV').flatMap((i) => i.args.split(/\s+/).map((pair) => pair.split('=') as [string, string])),
);
const packageJson = JSON.parse(readFileSync(at('package.json'), 'utf8'));
/** The file an npm script runs with `node <file>`. */
const scriptFile = (name: string) => /^node (\S+)$/.exec(packageJson.scripts[name])?.[1];

describe('Dockerfile', () => {
  it('runs the Node major the project is tested with, as `npm start` does, as a non-root user', () => {
    const nodeMajor = /(\d+)/.exec(packageJson.devDependencies.node)?.[1];
    expect(final('FROM')[0]?.args).toMatch(new RegExp(`^node:${nodeMajor}(-|$|\\.)`));
    const cmd = JSON.parse(final('CMD')[0]!.args) as string[];
    expect(cmd).toEqual(['node', scriptFile('start')]);
    expect(existsSync(at(cmd[1]!))).toBe(true);
    expect(final('USER').at(-1)?.args).toMatch(/^(?!root$|0$)\S+$/);
  });

  it('listens on every interface, on the port it exposes, in production mode', () => {
    expect(imageEnv).toMatchObject({ HOST: '0.0.0.0', NODE_ENV: 'production' });
    expect(final('EXPOSE').map((i) => i.args)).toEqual([imageEnv.PORT]);
  });

  it('ships the sources without their unit tests, the migrations and production dependencies only, and builds the page if there is a build', () => {
    const copied = final('COPY').map((i) => i.args);
    for (const path of ['src', 'drizzle', 'package.json']) {
      expect(copied.some((args) => args.split(/\s+/).includes(path))).toBe(true);
    }
    const runs = dockerfile.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('npm ci --omit=dev'))).toBe(true);
    expect(runs.some((r) => r.includes('npm run build --if-present'))).toBe(true);
    const ignored = readFileSync(at('.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git', '.env', 'src/**/*.test.ts']));
    for (const needed of ['src', 'drizzle', 'package.json', 'package-lock.json']) {
      expect(ignored).not.toContain(needed);
    }
  });

  it('checks health on the liveness path', () => {
    const healthcheck = final('HEALTHCHECK')[0]?.args ?? '';
    expect(/'(\/[a-z]+)'/.exec(healthcheck)?.[1]).toBe('/livez');
  });
});

// ---- Kubernetes ----

describe('Kubernetes base', () => {
  it(`renders (${renderer?.name ?? 'no renderer on PATH: resource files read as written'})`, () => {
    expect(base.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'ConfigMap/taskchat-config',
      'Deployment/taskchat',
      'Deployment/taskchat-worker',
      'HorizontalPodAutoscaler/taskchat',
      'Job/taskchat-migrate',
      'PodDisruptionBudget/taskchat',
      'Service/taskchat',
      'ServiceAccount/taskchat',
    ]);
    // Secrets belong to an overlay or the cluster's secret manager, never to the base.
    expect(base.filter((d) => d.kind === 'Secret')).toEqual([]);
  });

  it('serves on the port the image listens on, named http, behind the Service', () => {
    expect(server().ports).toEqual([{ name: 'http', containerPort: Number(imageEnv.PORT), protocol: 'TCP' }]);
    const config = one('ConfigMap', 'taskchat-config').data!;
    expect(config).toMatchObject({ PORT: imageEnv.PORT, HOST: '0.0.0.0' });
    const service = one('Service', 'taskchat');
    expect(service.spec.ports.map((p: any) => p.targetPort)).toEqual(['http']);
    expect(service.spec.selector).toEqual(deployment().spec.selector.matchLabels);
  });

  it('probes liveness on /livez, readiness on /readyz, startup on a contract probe path', () => {
    const c = server();
    expect(c.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(PROBE_PATHS).toContain(c.startupProbe.httpGet.path);
    expect(c.startupProbe.httpGet.port).toBe('http');
  });

  it('gives a stopping pod longer than its preStop delay plus the server drain', () => {
    const pod = deployment().spec.template.spec;
    const [sleep, seconds] = server().lifecycle.preStop.exec.command as string[];
    expect(sleep).toBe('sleep');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(seconds) + drainSeconds());
  });

  it('runs as a non-root user on a read-only root filesystem', () => {
    for (const d of [deployment(), job(), workerDeployment()]) {
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      for (const c of d.spec.template.spec.containers) {
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
      }
    }
  });

  it('migrates in a Job with the migration CLI, through the direct URL from the Secret', () => {
    const c = job().spec.template.spec.containers[0];
    expect(c.command).toEqual(['node', scriptFile('db:migrate')]);
    expect(job().spec.template.spec.restartPolicy).toBe('Never');
    const unpooled = c.env.find((e: any) => e.name === 'DATABASE_URL_UNPOOLED');
    expect(unpooled.valueFrom.secretKeyRef).toMatchObject({
      name: 'taskchat-secrets',
      key: 'DATABASE_URL_UNPOOLED',
    });
  });

  it('runs the background worker in a Deployment of its own (npm run worker), not in the web pods', () => {
    const pod = workerDeployment().spec.template.spec;
    expect(pod.containers[0].command).toEqual(['node', scriptFile('worker')]);
    expect(workerDeployment().spec.replicas).toBeGreaterThanOrEqual(2);
    expect(workerDeployment().spec.selector.matchLabels).not.toEqual(deployment().spec.selector.matchLabels);
    const unpooled = pod.containers[0].env.find((e: any) => e.name === 'DATABASE_URL_UNPOOLED');
    expect(unpooled.valueFrom.secretKeyRef).toMatchObject({
      name: 'taskchat-secrets',
      key: 'DATABASE_URL_UNPOOLED',
    });
    expect(server().env.find((e: any) => e.name === 'WORKER')).toEqual({ name: 'WORKER', value: 'false' });
    expect(loadConfig(podEnvironment()).worker).toBe(false);
    expect(loadConfig({ ...podEnvironment(), WORKER: undefined }).worker).toBe(true);
  });

  it('every command a container runs points at a file that exists', () => {
    const commands = containers()
      .map((c) => c.command as string[] | undefined)
      .filter((c) => c !== undefined);
    expect(commands.length).toBeGreaterThan(0);
    for (const [bin, file] of commands) {
      expect(bin).toBe('node');
      expect(existsSync(at(file!)), file).toBe(true);
    }
  });

  it('sets only environment variables the config reads, and every Secret key from taskchat-secrets', () => {
    const read = namesConfigReads();
    const set = [
      ...Object.keys(imageEnv),
      ...Object.keys(one('ConfigMap', 'taskchat-config').data!),
      ...containers().flatMap((c) => (c.env ?? []).map((e: any) => e.name as string)),
      ...Object.keys(exampleSecret()),
    ];
    expect(set.filter((name) => !read.has(name))).toEqual([]);
    for (const ref of secretRefs()) expect(ref.name).toBe('taskchat-secrets');
  });

  it('lets the HorizontalPodAutoscaler own the replica count, and budgets disruptions', () => {
    const hpa = one('HorizontalPodAutoscaler', 'taskchat');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'taskchat' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(deployment().spec.replicas).toBeUndefined();
    const pdb = one('PodDisruptionBudget', 'taskchat');
    expect(pdb.spec.selector.matchLabels).toEqual(deployment().spec.template.metadata.labels);
  });
});

describe('Kubernetes example overlay', () => {
  it('its Secret has every key the base requires, DATABASE_URL and DATABASE_URL_UNPOOLED among them', () => {
    const keys = Object.keys(exampleSecret());
    expect(keys).toEqual(expect.arrayContaining(['DATABASE_URL', 'DATABASE_URL_UNPOOLED']));
    const required = secretRefs().filter((ref) => !ref.optional);
    expect(required.map((ref) => ref.key).filter((key) => !keys.includes(key))).toEqual([]);
  });

  it('gives the server a configuration the code accepts in production: jwt auth, pooled and direct URLs', () => {
    const config = loadConfig(podEnvironment());
    expect(config).toMatchObject({ nodeEnv: 'production', host: '0.0.0.0', port: Number(imageEnv.PORT) });
    expect(config.auth.mode).toBe('jwt');
    expect(config.db.driver).toBe('neon');
    expect(config.db.url).toContain('-pooler.');
    expect(config.db.migrationUrl).not.toContain('-pooler.');
  });

  it.skipIf(!renderer)('renders, with the generated Secret referenced everywhere', () => {
    const docs = documents(renderer!.render(at('deploy', 'overlays', 'example')));
    const secrets = docs.filter((d) => d.kind === 'Secret');
    expect(secrets).toHaveLength(1);
    const secret = secrets[0]!;
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(Object.keys(exampleSecret()).sort());
    const pods = docs.flatMap((d) => (d.spec?.template?.spec?.containers ?? []) as any[]);
    const names = pods
      .flatMap((c) => (c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name))
      .filter(Boolean);
    expect(new Set(names)).toEqual(new Set([secret.metadata.name]));
  });
});

describe('the optional Redis component', () => {
  const dir = at('deploy', 'components', 'redis');
  const component = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'));
  const resources = (component.resources as string[]).flatMap((file) =>
    documents(readFileSync(join(dir, file), 'utf8')),
  );

  it('runs a Redis behind a Service and points REDIS_URL at it, in a form the config accepts', () => {
    const service = resources.find((d) => d.kind === 'Service')!;
    const redis = resources.find((d) => d.kind === 'Deployment')!;
    expect(service.spec.selector).toEqual(redis.spec.template.metadata.labels);
    const literals: string[] = component.configMapGenerator[0].literals;
    expect(component.configMapGenerator[0]).toMatchObject({ name: 'taskchat-config', behavior: 'merge' });
    const url = literals.find((l) => l.startsWith('REDIS_URL='))!.slice('REDIS_URL='.length);
    expect(url).toBe(`redis://${service.metadata.name}:${service.spec.ports[0].port}`);
    expect(loadConfig({ ...podEnvironment(), REDIS_URL: url }).redisUrl).toBe(url);
  });

  it('is used by the example overlay, and REDIS_URL may also come from the Secret', () => {
    const overlay = parse(readFileSync(at('deploy', 'overlays', 'example', 'kustomization.yaml'), 'utf8'));
    expect(overlay.components).toContain('../../components/redis');
    expect(secretRefs().find((ref) => ref.key === 'REDIS_URL')).toMatchObject({ optional: true });
  });

  it('runs Redis without root, on a read-only root filesystem, keeping nothing on disk', () => {
    const redis = resources.find((d) => d.kind === 'Deployment')!;
    expect(redis.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    const container = redis.spec.template.spec.containers[0];
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.args.join(' ')).toContain('--appendonly no');
  });
});

describe('probe paths on the running server', () => {
  let child: Child;
  let url: string;
  beforeAll(async () => {
    child = startMain({ DATABASE_URL: 'pglite://memory' });
    url = await child.listening;
  });
  afterAll(async () => {
    child.proc.kill('SIGTERM');
    await child.exited;
  });

  it('every probe path the manifests and the image use is served', async () => {
    const used = new Set<string>([
      ...containers().flatMap((c) =>
        ['livenessProbe', 'readinessProbe', 'startupProbe'].map((p) => c[p]?.httpGet?.path).filter(Boolean),
      ),
      '/livez', // the Dockerfile's HEALTHCHECK, checked above
    ]);
    for (const path of used) {
      expect(PROBE_PATHS).toContain(path);
      expect((await fetch(`${url}${path}`)).status, path).toBe(200);
    }
  });
});

// ---- helpers ----

/** The env names `loadConfig` looks up, recorded by handing it an environment that notes every read. */
function namesConfigReads(): Set<string> {
  const read = new Set<string>();
  const recorder = new Proxy({} as Record<string, string | undefined>, {
    get: (target, name) => {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
    has: (_target, name) => {
      if (typeof name === 'string') read.add(name);
      return false;
    },
  });
  loadConfig(recorder);
  return read;
}

/** How long the server drains at most: the default `graceMs` of its close() (or DEFAULT_GRACE_MS), in seconds. */
function drainSeconds(): number {
  const found = sourceFiles(at('src'))
    .map((file) => /(?:graceMs|DEFAULT_GRACE_MS)\s*=\s*([\d_]+)/.exec(readFileSync(file, 'utf8'))?.[1])
    .filter((value) => value !== undefined);
  expect(found, 'the server drain default (graceMs = ... or DEFAULT_GRACE_MS = ...) in src/').toHaveLength(1);
  return Number(found[0]!.replaceAll('_', '')) / 1000;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

type SecretRef = { name: string; key: string; optional?: boolean };

function secretRefs(): SecretRef[] {
  return containers().flatMap((c) =>
    (c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef as SecretRef | undefined).filter(Boolean),
  );
}

/** The example overlay's Secret, from the env file its secretGenerator reads. */
function exampleSecret(): Record<string, string> {
  const overlay = at('deploy', 'overlays', 'example');
  const kustomization = parse(readFileSync(join(overlay, 'kustomization.yaml'), 'utf8'));
  const generator = (kustomization.secretGenerator as { name: string; envs: string[] }[]).find(
    (g) => g.name === 'taskchat-secrets',
  )!;
  const entries = generator.envs.flatMap((file) =>
    readFileSync(join(overlay, file), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return Object.fromEntries(entries);
}

/** What the server container's process sees: image ENV, then the ConfigMap, then `env`. */
function podEnvironment(): Record<string, string> {
  const secret = exampleSecret();
  const env: Record<string, string> = { ...imageEnv, ...one('ConfigMap', 'taskchat-config').data };
  for (const e of server().env as any[]) {
    const ref = e.valueFrom?.secretKeyRef as SecretRef | undefined;
    const value = ref ? secret[ref.key] : e.value;
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}
