import { describe, expect, it } from 'vitest';
import {
  asString,
  declared,
  evaluate,
  fromData,
  type JobStatus,
  truthy,
  WorkflowError,
} from '../lab/workflow-runner/expressions.ts';
import { expandMatrix, legName } from '../lab/workflow-runner/matrix.ts';

const ok: JobStatus = { success: true, failure: false, cancelled: false };
const failed: JobStatus = { success: false, failure: true, cancelled: false };
const cancelled: JobStatus = { success: true, failure: false, cancelled: true };

const contexts = {
  github: { token: 'ghs_x', event_name: 'workflow_dispatch' },
  inputs: { devices: 'a,b', force: false },
  vars: { OTTR_BOT_LOGIN: '' },
  needs: declared('needs', {
    plan: {
      result: 'success',
      outputs: declared('needs.plan.outputs', { has_work: 'true', max_parallel: '3' }),
    },
  }),
  matrix: { id: 'sfo1-1', secrets: ['FW_SFO1'] },
  secrets: { FW_SFO1: 's3cret' },
  env: {},
  steps: {},
  job: {},
  strategy: {},
};
const value = (expression: string, status = ok) => fromData(evaluate(expression, contexts, status));

describe('expressions evaluated with GitHub’s @actions/expressions against the lab contexts', () => {
  it('reads contexts, indexes secrets by a matrix value and falls back with ||', () => {
    expect(value("needs.plan.outputs.has_work == 'true'")).toBe(true);
    expect(value('fromJSON(needs.plan.outputs.max_parallel)')).toBe(3);
    expect(value('secrets[matrix.secrets[0]]')).toBe('s3cret');
    expect(value('secrets[matrix.secrets[1]]')).toBe(null);
    expect(asString(value('secrets[matrix.secrets[1]]'), 'env')).toBe('');
    expect(value("vars.OTTR_BOT_LOGIN || 'github-actions[bot]'")).toBe('github-actions[bot]');
    expect(value('inputs.force || false')).toBe(false);
    expect(value('toJSON(matrix)')).toBe(JSON.stringify({ id: 'sfo1-1', secrets: ['FW_SFO1'] }, null, 2));
    expect(value("format('ottr-result-{0}', matrix.id)")).toBe('ottr-result-sfo1-1');
  });

  it('refuses an output a job does not declare, naming those it does (GitHub would give null)', () => {
    expect(() => value('needs.plan.outputs.has_wrk')).toThrow(WorkflowError);
    expect(() => value('needs.plan.outputs.has_wrk')).toThrow(
      /needs\.plan\.outputs\.has_wrk is not declared \(declared: has_work, max_parallel\)/,
    );
    expect(() => value("needs.report.result == 'success'")).toThrow(/needs\.report is not declared/);
  });

  it('refuses an unknown context or function at parse time', () => {
    expect(() => value('needz.plan')).toThrow();
    expect(() => value('succeeded()')).toThrow();
  });

  it('status functions answer from the job status they are given', () => {
    expect([value('success()'), value('failure()'), value('always()'), value('cancelled()')]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect([value('success()', failed), value('failure()', failed), value('always()', failed)]).toEqual([
      false,
      true,
      true,
    ]);
    expect([value('success()', cancelled), value('cancelled()', cancelled)]).toEqual([false, true]);
    // The parser's default `if:` for a job needing another: success() && (…)
    expect(value("success() && (needs.plan.outputs.has_work == 'true')", failed)).toBe(false);
    expect(value("always() && needs.plan.outputs.has_work == 'true'", failed)).toBe(true);
  });

  it('truthiness and string coercion as the runner has them', () => {
    expect(truthy(evaluate("''", contexts, ok))).toBe(false);
    expect(truthy(evaluate('0', contexts, ok))).toBe(false);
    expect(truthy(evaluate('matrix', contexts, ok))).toBe(true);
    expect(asString(true, 'x')).toBe('true');
    expect(asString(3, 'x')).toBe('3');
    expect(() => asString({ a: 1 }, 'with.entry')).toThrow(
      /with\.entry: an object where a string is expected/,
    );
  });
});

describe('matrix expansion as GitHub documents it', () => {
  it('an include-only matrix (the plan’s) is one leg per entry', () => {
    const legs = expandMatrix({
      include: [
        { id: 'a', dc: 'sfo1' },
        { id: 'b', dc: 'ams2' },
      ],
    });
    expect(legs).toEqual([
      { id: 'a', dc: 'sfo1' },
      { id: 'b', dc: 'ams2' },
    ]);
    expect(legName('rotate', legs[0]!)).toBe('rotate (a, sfo1)');
  });

  it('products, excludes, and includes that extend or add legs', () => {
    const legs = expandMatrix({
      os: ['linux', 'windows'],
      node: [20, 24],
      exclude: [{ os: 'windows', node: 20 }],
      include: [
        { node: 24, experimental: true },
        { os: 'mac', node: 24 },
      ],
    });
    expect(legs).toEqual([
      { os: 'linux', node: 20 },
      { os: 'linux', node: 24, experimental: true },
      { os: 'windows', node: 24, experimental: true },
      { os: 'mac', node: 24 },
    ]);
  });

  it('refuses a matrix that expands to nothing or is not a mapping', () => {
    expect(() => expandMatrix({ include: [] })).toThrow(/expands to no job/);
    expect(() => expandMatrix({ os: [] })).toThrow(/non-empty sequence/);
    expect(() => expandMatrix('x')).toThrow(/must be a mapping/);
  });
});
