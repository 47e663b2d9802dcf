import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RotationResult } from '../../src/model/results.ts';
import type { MatrixEntry } from '../../src/plan/matrix.ts';
import { type ActionRun, runActionBundle } from '../helpers/action.ts';
import { type FullLab, LAB_GITHUB_TOKEN, LAB_OWNER, LAB_REPO } from './full-lab.ts';

/**
 * The lab's clock for scheduled runs: on this date the sample's recorded certificates make PAN-OS, F5, Lighthouse,
 * SSH and SSM devices due at once (and four devices not due), so one cycle exercises every driver.
 */
export const LAB_NOW = '2026-12-20T06:00:00Z';

export interface CycleOptions {
  /** The plan's clock (default: now). */
  now?: string;
  /** workflow_dispatch inputs. */
  devices?: string;
  force?: boolean;
  /** strategy.max-parallel (default: the plan's max_parallel). */
  maxParallel?: number;
  /** Progress: one line per device and phase. */
  progress?: (line: string) => void;
  /** Runs after every rotate job and before the report job (a colleague pushing to main meanwhile, say). */
  beforeReport?: () => Promise<void> | void;
}

export interface CycleOutcome {
  plan: ActionRun;
  matrix: MatrixEntry[];
  jobs: { entry: MatrixEntry; run: ActionRun; ms: number }[];
  report?: ActionRun;
  results: RotationResult[];
  ms: number;
}

let cycles = 0;

/**
 * What rotate.yml's `OTTR_SECRET_<n>: ${{ secrets[matrix.secrets[n-1]] }}` lines give a step: the n-th named
 * secret of the job's environment, or an empty string when that environment does not hold it.
 */
export function secretSlots(
  environment: Record<string, string> | undefined,
  names: readonly string[],
): Record<string, string> {
  const slots: Record<string, string> = {};
  names.forEach((name, i) => {
    slots[`OTTR_SECRET_${i + 1}`] = environment?.[name] ?? '';
  });
  return slots;
}

/**
 * One run of rotate.yml in the lab, job by job as the workflow has them: the plan action in a fresh checkout; one
 * rotate action per matrix entry (max-parallel at a time, fail-fast off), each writing its result files, which are
 * gathered as the artifacts would be; then, if there was work, the report action in its own checkout against
 * the GitHub emulator. Every action is its committed bundle, run as the runner runs it.
 */
export async function runCycle(lab: FullLab, options: CycleOptions = {}): Promise<CycleOutcome> {
  const started = Date.now();
  const id = ++cycles;
  const say = options.progress ?? (() => {});
  const env = {
    ...lab.runnerEnv,
    GITHUB_REPOSITORY: `${LAB_OWNER}/${LAB_REPO}`,
    GITHUB_RUN_ID: String(1000 + id),
  };
  const checkout = lab.clone(`cycle-${id}-rotate`);
  say(
    `plan: ${options.devices ? `devices ${options.devices}` : 'the whole inventory'}${options.force ? ', forced' : ''}`,
  );
  const plan = await runActionBundle(
    'plan',
    {
      root: checkout,
      ...(options.now ? { now: options.now } : {}),
      ...(options.devices ? { devices: options.devices } : {}),
      ...(options.force ? { force: 'true' } : {}),
      'github-token': LAB_GITHUB_TOKEN,
    },
    { ...env, GITHUB_API_URL: lab.github.url },
  );
  if (plan.code !== 0) throw new Error(`the plan job failed:\n${plan.stdout}${plan.stderr}`);
  const matrix = (JSON.parse(plan.outputs.matrix ?? '{"include":[]}') as { include: MatrixEntry[] }).include;
  say(
    `plan: ${plan.outputs.due_count} due, ${plan.outputs.skipped_count} not due or skipped → ${matrix.length} job(s)`,
  );
  const outcome: CycleOutcome = { plan, matrix, jobs: [], results: [], ms: 0 };
  if (plan.outputs.has_work !== 'true') {
    outcome.ms = Date.now() - started;
    return outcome;
  }

  const artifacts = join(lab.dir, `cycle-${id}-artifacts`);
  const parallel = Math.max(1, options.maxParallel ?? Number(plan.outputs.max_parallel ?? 20));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, matrix.length) }, async () => {
      while (next < matrix.length) {
        const entry = matrix[next++]!;
        const jobStarted = Date.now();
        // Each phase's line is printed when it ends, with its time: when the device's next phase starts.
        const current = new Map<string, { phase: string; since: number }>();
        const finishPhase = (device: string, outcome: string) => {
          const open = current.get(device);
          if (open)
            say(`${device.padEnd(16)} ${open.phase.padEnd(9)} ${outcome} (${Date.now() - open.since} ms)`);
          current.delete(device);
        };
        const run = await runActionBundle(
          'rotate',
          { root: checkout, entry: JSON.stringify(entry), 'results-dir': `results/${entry.id}` },
          {
            ...env,
            GITHUB_WORKSPACE: checkout,
            ...secretSlots(lab.environments[entry.environment], entry.secrets),
          },
          {},
          (line) => {
            const started = /^(\S+) (\w+): started$/.exec(line);
            if (started) {
              finishPhase(started[1]!, 'ok');
              current.set(started[1]!, { phase: started[2]!, since: Date.now() });
            }
            const done = /^(\S+) done: (.*)$/.exec(line);
            if (done) {
              finishPhase(done[1]!, done[2] === 'rotated' ? 'ok' : 'failed');
              say(`${done[1]!.padEnd(16)} ${'result'.padEnd(9)} ${done[2]}`);
            }
            const rollback = /^(\S+) rollback: (.*)$/.exec(line);
            if (rollback) say(`${rollback[1]!.padEnd(16)} ${'rollback'.padEnd(9)} ${rollback[2]}`);
          },
        );
        const ms = Date.now() - jobStarted;
        outcome.jobs.push({ entry, run, ms });
        const produced = join(checkout, 'results', entry.id);
        if (existsSync(produced)) {
          // upload-artifact ottr-result-<id> → download-artifact pattern ottr-result-* (one folder each)
          mkdirSync(artifacts, { recursive: true });
          cpSync(produced, join(artifacts, `ottr-result-${entry.id}`), { recursive: true });
          for (const f of readdirSync(produced)) {
            const result = JSON.parse(readFileSync(join(produced, f), 'utf8')) as RotationResult;
            outcome.results.push(result);
          }
        } else {
          say(
            `${entry.id.padEnd(16)} ${'job'.padEnd(9)} failed without a result: ${run.stdout
              .split('\n')
              .filter((l) => l.startsWith('::error'))
              .join(' ')}`,
          );
        }
      }
    }),
  );

  await options.beforeReport?.();
  const reportCheckout = lab.clone(`cycle-${id}-report`);
  say('report: applying the results, opening the pull request, notifying');
  outcome.report = await runActionBundle(
    'report',
    {
      root: reportCheckout,
      'results-dir': artifacts,
      'github-token': LAB_GITHUB_TOKEN,
      // download-artifact name: ottr-plan, and the plan job's plan_sha256 output
      'plan-file': join(checkout, 'plan.json'),
      'plan-sha256': plan.outputs.plan_sha256 ?? '',
    },
    {
      ...env,
      GITHUB_API_URL: lab.github.url,
      GITHUB_SERVER_URL: lab.github.url,
      GITHUB_WORKSPACE: reportCheckout,
      OTTR_SECRET_NAMES: plan.outputs.report_secrets ?? '[]',
      ...secretSlots(
        lab.environments['pki-report'],
        JSON.parse(plan.outputs.report_secrets ?? '[]') as string[],
      ),
    },
    { repository: { default_branch: 'main' } },
  );
  say(
    `report: pull request ${outcome.report.outputs['pull-request-action'] ?? '?'} ${outcome.report.outputs['pull-request-url'] ?? ''}`.trimEnd(),
  );
  outcome.ms = Date.now() - started;
  return outcome;
}
