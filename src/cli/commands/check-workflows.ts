import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { workflowPolicyProblems } from '../../gitops/workflow-policy.ts';
import { formatProblemGithub, formatProblemText, type Problem } from '../../model/problems.ts';
import { oneOf, parseFlags } from '../args.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const FORMATS = ['text', 'json', 'github'] as const;

const HELP = `Usage: ottr check-workflows [--root DIR] [--dir PATH] [--format text|json|github]

Checks the GitHub Actions workflows (.github/workflows/*.yml, *.yaml) against the hardening
rules a rotation pipeline with access to device credentials must keep:
  - no pull_request_target trigger (it runs with secrets on code from forks)
  - top-level permissions present and read-only ({} or read); write access granted per job
  - every action from another repository pinned to a full 40-character commit SHA
  - no \${{ }} expression inside run: (pass values through env: instead)
  - a workflow that uses ./actions/rotate has concurrency and never cancels a rotation
Each finding names the file, line and field.

Options:
  --root DIR     repository root (default: current directory)
  --dir PATH     the workflow folder, relative to the root (default .github/workflows)
  --format FMT   text (default), json, or github (annotations)

Exit codes: 0 all rules kept, 1 findings, 2 usage error.`;

export const checkWorkflowsCommand: Command = {
  name: 'check-workflows',
  summary: 'check the workflows against the hardening rules (pinned actions, permissions, …)',
  help: HELP,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      root: { type: 'string' },
      dir: { type: 'string' },
      format: { type: 'string' },
    });
    const format = oneOf('format', values.format, FORMATS, 'text');
    const root = resolveRoot(values.root, io.cwd);
    const dir = join(root, values.dir ?? '.github/workflows');
    let files: string[];
    try {
      files = readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(dir, f));
    } catch {
      throw new UsageError(`no workflow folder at ${relative(io.cwd, dir) || dir}`);
    }
    const problems: Problem[] = files.flatMap((file) =>
      workflowPolicyProblems(relative(root, file).split('\\').join('/'), readFileSync(file, 'utf8')),
    );
    if (format === 'json') io.stdout(`${JSON.stringify(problems, null, 2)}\n`);
    else {
      const show = format === 'github' ? formatProblemGithub : formatProblemText;
      for (const p of problems) io.stdout(`${show(p)}\n`);
      io.stdout(
        problems.length === 0
          ? `ok: ${files.length} workflow(s) keep the hardening rules\n`
          : `${problems.length} finding(s) in ${new Set(problems.map((p) => p.file)).size} of ${files.length} workflow(s)\n`,
      );
    }
    return problems.length > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};
