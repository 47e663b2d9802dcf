import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyCertificate, certificateRecord } from '../../gitops/apply-results.ts';
import { loadRepository } from '../../model/repository.ts';
import { RESULT_SCHEMA, type RotationResult } from '../../rotate/result.ts';
import { writeFileAtomic } from '../../util/files.ts';
import { parseFlags } from '../args.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const HELP = `Usage: ottr apply-results DIR [--root DIR]

Writes each rotated device's new certificate (and ARI window) into its device file: the
certificate: block is replaced, or appended when the device had none, and every other byte of
the file stays as it was (comments, order, quoting). Failed and rolled-back devices are left
untouched; results for devices no longer in the inventory are skipped with a note. Applying
the same results twice changes nothing.

DIR holds the result files of a run (<system_name>.json, as ottr rotate writes them; nested
folders, as downloaded artifacts are, are searched too).

Exit codes: 0 applied (or nothing to do), 1 a result or device file could not be read, 2 usage.`;

function resultFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...resultFiles(path));
    else if (entry.name.endsWith('.json')) out.push(path);
  }
  return out.sort();
}

export const applyResultsCommand: Command = {
  name: 'apply-results',
  summary: 'write rotated certificates from result files into the device files',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { root: { type: 'string' } }, true);
    if (positionals.length !== 1) throw new UsageError('give the directory holding the result files');
    const dir = resolve(io.cwd, positionals[0]!);
    let files: string[];
    try {
      files = resultFiles(dir);
    } catch {
      throw new UsageError(`cannot read ${positionals[0]}`);
    }
    const root = resolveRoot(values.root, io.cwd);
    const repo = await loadRepository(root);
    const byName = new Map(repo.records.map((r) => [r.system_name, r]));
    let applied = 0;
    let unchanged = 0;
    let problems = 0;
    for (const file of files) {
      let result: RotationResult;
      try {
        result = JSON.parse(readFileSync(file, 'utf8')) as RotationResult;
        if (result.schema !== RESULT_SCHEMA || typeof result.system_name !== 'string')
          throw new Error('not a result file');
      } catch (error) {
        io.stderr(`${file}: skipped: ${(error as Error).message}\n`);
        problems++;
        continue;
      }
      const record = certificateRecord(result);
      if (!record) {
        io.stdout(`${result.system_name}: ${result.status}, left untouched\n`);
        continue;
      }
      const device = byName.get(result.system_name);
      if (!device) {
        io.stdout(`${result.system_name}: no longer in the inventory, skipped\n`);
        continue;
      }
      const path = join(root, device.file);
      try {
        const updated = applyCertificate(readFileSync(path, 'utf8'), record);
        if (updated === undefined) {
          unchanged++;
          io.stdout(`${result.system_name}: already up to date\n`);
        } else {
          writeFileAtomic(path, updated);
          applied++;
          io.stdout(`${result.system_name}: ${device.file} now expires ${record.not_after}\n`);
        }
      } catch (error) {
        io.stderr(`${device.file}: not updated: ${(error as Error).message}\n`);
        problems++;
      }
    }
    io.stdout(
      `\n${applied} device file(s) updated, ${unchanged} already up to date, ${files.length} result file(s) read\n`,
    );
    return problems > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};
