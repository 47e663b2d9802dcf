import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './command.ts';

/** Resolves --root (default: the current directory) and insists it is a directory. */
export function resolveRoot(value: string | undefined, cwd: string): string {
  const root = resolve(cwd, value ?? '.');
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new UsageError(`--root ${value ?? '.'} is not a directory`);
  return root;
}
