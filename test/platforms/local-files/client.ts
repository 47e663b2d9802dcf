import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The device's side: files in its directory, and openssl run there. Keys are made here and never read back. */
export class LocalFilesClient {
  constructor(readonly directory: string) {}

  path(name: string): string {
    return join(this.directory, name);
  }

  exists(name: string): boolean {
    return existsSync(this.path(name));
  }

  /** A new EC key and a CSR for `names`, made by openssl in the directory; only the CSR is returned. */
  async newKeyAndCsr(id: string, names: string[], curve: string): Promise<string> {
    await run('openssl', [
      'ecparam',
      '-name',
      curve === 'P-384' ? 'secp384r1' : 'prime256v1',
      '-genkey',
      '-noout',
      '-out',
      this.path(`${id}.key`),
    ]);
    const san = names.map((n) => `DNS:${n}`).join(',');
    const { stdout } = await run('openssl', [
      'req',
      '-new',
      '-key',
      this.path(`${id}.key`),
      '-subj',
      `/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${san}`,
    ]);
    return stdout;
  }

  write(name: string, text: string): void {
    writeFileSync(this.path(name), text);
  }

  read(name: string): string {
    return readFileSync(this.path(name), 'utf8');
  }

  /** Renames `from` over `to` (one atomic step for each file). */
  move(from: string, to: string): void {
    renameSync(this.path(from), this.path(to));
  }

  remove(name: string): void {
    rmSync(this.path(name), { force: true });
  }
}
