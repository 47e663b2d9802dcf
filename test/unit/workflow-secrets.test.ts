import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildPlan } from '../../src/plan/build-plan.ts';
import { planInput } from '../../src/plan/input.ts';
import { loadRepository } from '../../src/repository/load.ts';
import { reportSecrets } from '../../src/secrets/job-secrets.ts';
import { secretSlots } from '../../src/secrets/source.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';
import { LAB_NOW } from '../lab/cycle.ts';

/**
 * rotate.yml's secret wiring evaluated by GitHub's own expression evaluator (@actions/expressions): with every
 * secret of the organisation visible at once (the worst case: all of them at repository level), a rotate job's
 * step still receives exactly the secrets the plan named for its entry, and the report step only the
 * notification secrets.
 */
const workflow = parse(readFileSync(join(PROJECT_ROOT, '.github/workflows/rotate.yml'), 'utf8'));

function toData(value: unknown): data.ExpressionData {
  if (value === null || value === undefined) return new data.Null();
  if (typeof value === 'string') return new data.StringData(value);
  if (typeof value === 'number') return new data.NumberData(value);
  if (typeof value === 'boolean') return new data.BooleanData(value);
  if (Array.isArray(value)) return new data.Array(...value.map(toData));
  const dict = new data.Dictionary();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) dict.add(k, toData(v));
  return dict;
}

/** Evaluates a workflow value `${{ expr }}` (the whole value) the way the runner does for env:. */
function evaluate(value: string, contexts: Record<string, unknown>): string {
  const m = /^\$\{\{(.*)\}\}$/s.exec(value.trim());
  if (!m) return value;
  const lexed = new Lexer(m[1]!).lex();
  const expr = new Parser(lexed.tokens, Object.keys(contexts), []).parse();
  const ctx = toData(contexts) as data.Dictionary;
  const result = new Evaluator(expr, ctx).evaluate();
  return result.kind === data.Kind.Null ? '' : result.coerceString();
}

function stepEnv(job: string, uses: string): Record<string, string> {
  const step = workflow.jobs[job].steps.find((s: { uses?: string }) => s.uses === uses);
  return step.env as Record<string, string>;
}

describe("rotate.yml hands each job only its own secrets (evaluated by GitHub's expression evaluator)", async () => {
  const repo = await loadRepository(PROJECT_ROOT);
  const settings = repo.settings!;
  // A canary per declared secret, plus runner and cloud variables a hostile file might name.
  const everything: Record<string, string> = {};
  for (const name of [
    ...Object.keys(settings.secrets),
    'AWS_SECRET_ACCESS_KEY',
    'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  ])
    everything[name] = `canary-${name.toLowerCase()}-value`;
  const plan = buildPlan(planInput(repo.records, settings, new Date(LAB_NOW), { force: true }));

  it('the plan schedules every sample device, one environment per data center', () => {
    expect(plan.matrix.include.length).toBe(repo.records.length);
    for (const entry of plan.matrix.include) expect(entry.environment).toBe(`pki-${entry.data_center}`);
  });

  it("a rotate step gets exactly its entry's secrets, in slot order, and nothing else", () => {
    const env = stepEnv('rotate', './actions/rotate');
    for (const entry of plan.matrix.include) {
      const values = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, evaluate(v, { matrix: entry, secrets: everything })]),
      );
      const given = Object.values(values).filter(Boolean).sort();
      expect(given).toEqual(entry.secrets.map((n) => everything[n]).sort());
      // What the action reads from those slots is the same map.
      const source = secretSlots(entry.secrets, values, 8);
      expect(source.names()).toEqual([...entry.secrets].sort());
      // Another data center's credential never reaches this job.
      for (const [name, declared] of Object.entries(settings.secrets))
        if (declared.data_centers && !declared.data_centers.includes(entry.data_center))
          expect(given).not.toContain(everything[name]);
    }
  });

  it('the report step gets the notification secrets and no device credential', () => {
    const env = stepEnv('report', './actions/report');
    const outputs = { report_secrets: JSON.stringify(reportSecrets(settings)) };
    const values = Object.values(env).map((v) =>
      evaluate(v, { needs: { plan: { outputs } }, secrets: everything }),
    );
    const given = values.filter((v) => v.startsWith('canary-'));
    expect(given).toEqual(['canary-slack_webhook_url-value']);
    for (const [name, declared] of Object.entries(settings.secrets))
      if (declared.purpose === 'device_credential') expect(values).not.toContain(everything[name]);
  });
});
