import { linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The file is there already and overwriting was not asked for. */
export class FileExistsError extends Error {
  override name = 'FileExistsError';
  constructor(readonly path: string) {
    super(`${path} already exists`);
  }
}

/**
 * Writes a file so readers see no file (or the old one) or the whole new content, never a half-written one.
 * With `overwrite: false`, a file that exists (even one created a moment ago by someone else) is left alone and
 * FileExistsError is thrown: the new content is hard-linked into place, which fails when the name is taken.
 */
export function writeFileAtomic(path: string, content: string, options: { overwrite?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Date.now().toString(36)}.tmp`;
  writeFileSync(temporary, content, { flag: 'wx' });
  try {
    if (options.overwrite === false) linkSync(temporary, path);
    else renameSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(path);
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}
