// Checks the layout of src/: no import circle among its files (type-only imports count), and the
// ground floor (http/, db/, config, log and the small shared modules) importing no feature room.
// Run: node scripts/check-layout.ts   (exit code 1 and a list when something is wrong)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../src');
const FEATURES = ['auth', 'chat', 'tasks', 'mcp', 'model', 'health', 'page', 'observability', 'webhooks'];
const GROUND = [/^http\//, /^db\//, /^config\.ts$/, /^log\.ts$/, /^text\.ts$/, /^causes\.ts$/];

const files = (readdirSync(SRC, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => f.split('\\').join('/'));
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]/gm;
const graph = new Map<string, string[]>();
for (const file of files) {
  const text = readFileSync(join(SRC, file), 'utf8');
  const targets = [...text.matchAll(IMPORT)].map((m) =>
    relative(SRC, resolve(dirname(join(SRC, file)), m[1] as string))
      .split('\\')
      .join('/'),
  );
  graph.set(
    file,
    targets.filter((t) => graph.has(t) || files.includes(t)),
  );
}

const problems: string[] = [];
for (const [file, targets] of graph) {
  if (!GROUND.some((re) => re.test(file))) continue;
  for (const target of targets) {
    if (FEATURES.includes(target.split('/')[0] as string))
      problems.push(`${file} imports the feature room ${target}`);
  }
}

// Depth-first search; a back edge closes a circle.
const state = new Map<string, 'open' | 'done'>();
const stack: string[] = [];
const visit = (file: string) => {
  state.set(file, 'open');
  stack.push(file);
  for (const target of graph.get(file) ?? []) {
    if (state.get(target) === 'open')
      problems.push(`circle: ${[...stack.slice(stack.indexOf(target)), target].join(' -> ')}`);
    else if (!state.has(target)) visit(target);
  }
  stack.pop();
  state.set(file, 'done');
};
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(
  `layout ok: ${graph.size} files in src/, no import circle, the ground floor imports no feature room`,
);
