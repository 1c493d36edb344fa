// `npm start` on a production install (`npm prune --omit=dev`: the project's own Node 24, a
// devDependency, is gone) on a machine whose Node cannot run TypeScript: one line saying what to do,
// not a raw ERR_UNKNOWN_FILE_EXTENSION stack. Run for real with such a Node when the machine has one
// (Debian's packaged Node is 20), through that Node's own npm, as a person there would.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A Node on this machine older than 22.18 with its npm beside it, if there is one. */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!existsSync(candidate) || !existsSync(join(dirname(candidate), 'npm'))) continue;
    const version = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 18)) return candidate;
  }
  return undefined;
}

const old = oldNode();

describe('npm start checks the Node it runs on', () => {
  it.skipIf(!old)('on an older Node, after npm prune --omit=dev: one line saying what to do', async () => {
    // The pruned install's shape: the project's files, and no node_modules/.bin/node.
    const cwd = await mkdtemp(join(tmpdir(), 'taskchat-pruned-'));
    try {
      await copyFile(join(ROOT, 'package.json'), join(cwd, 'package.json'));
      for (const dir of ['scripts', 'src', 'web', 'drizzle']) await symlink(join(ROOT, dir), join(cwd, dir));
      const bin = dirname(old!);
      const result = await run(join(bin, 'npm'), ['start'], {
        cwd,
        env: { PATH: `${bin}:/usr/bin:/bin`, HOME: cwd, PORT: '0' },
        timeout: 60_000,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
      const lines = result.stderr.split('\n').filter((line) => line.startsWith('taskchat:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^taskchat: this is Node 2\d\.\d+\.\d+, which cannot run taskchat's TypeScript/,
      );
      expect(lines[0]).toContain('Install Node 24');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('on the Node it is tested with, says nothing and lets the start go on', async () => {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'scripts/check-node.mjs')]);
    expect(stdout + stderr).toBe('');
  });
});
