import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './cli.ts';

/** Action processes still running, so a lab that is stopping (Ctrl-C) can end them first. */
const running = new Set<ReturnType<typeof spawn>>();
let stopping = false;

/** Ends every running action process and waits for them; no new one starts afterwards. */
export async function stopActionProcesses(): Promise<void> {
  stopping = true;
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const force = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('close', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/** GITHUB_OUTPUT's format: `name<<DELIMITER`, the value's lines, `DELIMITER`. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (head) {
      const end = lines.indexOf(head[2]!, i + 1);
      outputs[head[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      const at = lines[i]!.indexOf('=');
      outputs[lines[i]!.slice(0, at)] = lines[i]!.slice(at + 1);
    }
  }
  return outputs;
}

/**
 * Runs an action's committed bundle the way the runner does: `node actions/<name>/dist/index.mjs` with each
 * input as INPUT_<NAME> (upper case, spaces as _), GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files and an event file.
 */
export async function runActionBundle(
  name: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
  event: unknown = {},
  onLine?: (line: string) => void,
): Promise<ActionRun> {
  if (stopping) throw new Error(`the lab is stopping: actions/${name} is not started`);
  const dir = mkdtempSync(join(tmpdir(), `ottr-action-${name}-`));
  const files = {
    output: join(dir, 'output'),
    summary: join(dir, 'summary'),
    event: join(dir, 'event.json'),
  };
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  writeFileSync(files.event, JSON.stringify(event));
  const inputEnv = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'actions', name, 'dist', 'index.mjs')], {
    cwd: env.GITHUB_WORKSPACE ?? PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_EVENT_PATH: files.event,
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_REPOSITORY: 'acme/pki',
      GITHUB_RUN_ID: '4242',
      ...inputEnv,
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  running.add(child);
  child.on('close', () => running.delete(child));
  let pending = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (!onLine) return;
    const lines = (pending + c.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  if (onLine && pending) onLine(pending);
  const result = {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(files.output, 'utf8')),
    summary: readFileSync(files.summary, 'utf8'),
  };
  rmSync(dir, { recursive: true, force: true });
  return result;
}
