import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { main } from '../../src/cli/main.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  output: string;
}

/** Runs the CLI in-process with captured output. */
export async function runCli(
  args: string[],
  cwd = PROJECT_ROOT,
  env: NodeJS.ProcessEnv = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
    cwd,
  });
  return { code, stdout, stderr, output: stdout + stderr };
}

export interface TempRepo {
  root: string;
  write(path: string, content: string | Uint8Array): void;
  remove(path: string): void;
  cleanup(): void;
}

/**
 * A scratch repository holding the project's sample routing/ and schemas/ and, unless `withSampleInventory`,
 * an empty inventory.
 */
export function makeRepo(options: { withSampleInventory?: boolean } = {}): TempRepo {
  const root = mkdtempSync(join(tmpdir(), 'ottr-repo-'));
  cpSync(join(PROJECT_ROOT, 'routing'), join(root, 'routing'), { recursive: true });
  cpSync(join(PROJECT_ROOT, 'schemas'), join(root, 'schemas'), { recursive: true });
  if (options.withSampleInventory)
    cpSync(join(PROJECT_ROOT, 'inventory'), join(root, 'inventory'), { recursive: true });
  else mkdirSync(join(root, 'inventory'));
  return {
    root,
    write(path, content) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    remove(path) {
      rmSync(join(root, path), { recursive: true, force: true });
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
