import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { planJob } from '../../jobs/plan-job.ts';
import { formatProblemGithub, formatProblemText } from '../../model/problems.ts';
import { planText } from '../../plan/plan-summary.ts';
import { writeFileAtomic } from '../../util/files.ts';
import { oneOf, parseFlags } from '../args.ts';
import { parseDeviceList, parseNow } from '../clock.ts';
import { type Command, EXIT_FINDINGS, EXIT_OK, UsageError } from '../command.ts';
import { resolveRoot } from '../root.ts';

const FORMATS = ['text', 'json', 'github'] as const;

const HELP = `Usage: ottr plan [--root DIR] [--now ISO] [--devices a,b] [--force] [--format text|json|github] [--out FILE]

Decides which devices are due for a new certificate and builds the job matrix.

A device is due when
  - it has no certificate recorded (never rotated), or its certificate has expired;
  - an ARI renewal window is recorded (certificate.renewal_window) and it has started;
  - otherwise, when less than the authority's renew_before is left: a fraction of the
    recorded lifetime (default 1/3, so a 90-day certificate renews with 30 days left and a
    6-day one with 2) or a fixed duration such as 10d. No lifetime is assumed.
Due devices are ordered most urgent first (earliest expiry) and held to each authority's
rate_limits: orders_per_3h per run, certificates_per_domain_per_week per registered domain
(public-suffix aware, counting certificates rotated in the last 7 days). The rest are deferred
with the reason. Invalid devices and devices no routing rule matches are skipped and reported;
they never stop the rest of the plan. More due devices than limits.max_jobs become shards.

Options:
  --root DIR        repository root (default: current directory)
  --now ISO         plan as of this instant (default: now), e.g. 2026-11-23T06:00:00Z
  --devices LIST    only these system names (comma or space separated)
  --force           treat the selected devices as due (manual rotation)
  --format FMT      text (default), json (the plan), or github (annotations for skipped devices,
                    and the job summary with a due table and an expiry gantt appended to
                    $GITHUB_STEP_SUMMARY)
  --out FILE        also write the plan JSON to FILE
  --verbose         text format: list devices that are not due too

The plan JSON: {version, now, due[], deferred[], skipped[], matrix: {include[]}, max_parallel,
counts, shards?, errors[]}. Matrix entries: {id, devices[], data_center, runs_on[]}.

Exit codes: 0 plan made (even with skipped devices), 1 settings or routes invalid, 2 usage error
(including --devices names that do not exist).`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'decide which devices are due and build the job matrix',
  help: HELP,
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      root: { type: 'string' },
      now: { type: 'string' },
      devices: { type: 'string' },
      force: { type: 'boolean' },
      format: { type: 'string' },
      out: { type: 'string' },
      verbose: { type: 'boolean' },
    });
    const format = oneOf('format', values.format, FORMATS, 'text');
    const root = resolveRoot(values.root, io.cwd);
    const now = parseNow(values.now);
    const only = parseDeviceList(values.devices);
    const result = await planJob(
      { root, now, devices: only ?? [], force: values.force === true },
      {
        savePlan(json) {
          if (values.out) writeFileAtomic(resolve(io.cwd, values.out), json);
        },
        // ottr plan reads the working tree only: no rotations branch, nothing to ignore.
        branchIgnored() {},
        deviceSkipped(problem) {
          if (format === 'github') io.stdout(`${formatProblemGithub(problem)}\n`);
        },
      },
    );
    if (result.status === 'no-plan') {
      const show = format === 'github' ? formatProblemGithub : formatProblemText;
      for (const problem of result.blocking) io.stderr(`${show(problem)}\n`);
      io.stderr(
        'ottr plan: no plan: fix routing/settings.yaml and routing/routes.yaml first (ottr validate)\n',
      );
      return EXIT_FINDINGS;
    }
    if (result.status === 'unknown-devices') throw new UsageError(result.message);
    const { plan } = result;
    if (format === 'json') {
      io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
    } else if (format === 'github') {
      io.stdout(planText(plan));
      const summaryFile = io.env.GITHUB_STEP_SUMMARY;
      if (summaryFile) appendFileSync(summaryFile, `${result.summary}\n`);
    } else {
      io.stdout(planText(plan, values.verbose ? { verbose: true } : {}));
    }
    for (const message of plan.errors) io.stderr(`ottr plan: ${message}\n`);
    return plan.errors.length > 0 ? EXIT_FINDINGS : EXIT_OK;
  },
};
