// Runs `npm start`'s entry point as a real child process, the way a person or a platform would,
// and reads its log lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export type Child = {
  proc: ChildProcess;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the listening URL, or rejects with the output if the process exits first. */
  listening: Promise<string>;
  exited: Promise<number | null>;
};

export function startMain(env: Record<string, string>, cwd?: string): Child {
  const proc = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"msg":"taskchat listening","url":"([^"]+)"/.exec(text);
      if (match?.[1]) resolve(match[1]);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    exited.then((code) => reject(new Error(`exited ${code} before listening:\n${text}`)));
  });
  listening.catch(() => {});
  return { proc, output: () => text, listening, exited };
}
