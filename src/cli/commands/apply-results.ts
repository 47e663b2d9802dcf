import { resolve } from 'node:path';
import { resultFiles } from '../../gitops/apply-results.ts';
import { applyResultsJob } from '../../jobs/report-job.ts';
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
    const report = await applyResultsJob({ root: resolveRoot(values.root, io.cwd), files });
    for (const u of report.updated) io.stdout(`${u.system_name}: ${u.file} now expires ${u.not_after}\n`);
    for (const name of report.unchanged) io.stdout(`${name}: already up to date\n`);
    for (const u of report.untouched) io.stdout(`${u.system_name}: ${u.status}, left untouched\n`);
    for (const name of report.removed) io.stdout(`${name}: no longer in the inventory, skipped\n`);
    for (const p of report.unreadable) io.stderr(`${p.file}: skipped: ${p.message}\n`);
    io.stdout(
      `\n${report.updated.length} device file(s) updated, ${report.unchanged.length} already up to date, ${files.length} result file(s) read\n`,
    );
    return report.unreadable.length > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};
