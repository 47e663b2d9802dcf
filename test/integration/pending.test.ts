import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planRun } from '../../src/actions/plan.ts';
import { applyCertificate } from '../../src/gitops/apply-results.ts';
import { makeRepo } from '../helpers/cli.ts';

const repo = makeRepo({ withSampleInventory: true });
afterAll(() => repo.cleanup());
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Lab', '-c', 'user.email=lab@example.test', ...args], {
    cwd: repo.root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const FW = 'inventory/sfo1/fw-sfo1-01.yaml';
const settings = (pendingRef: string) => ({
  root: repo.root,
  devices: [],
  force: false,
  now: new Date('2026-11-23T06:00:00Z'),
  planFile: 'plan.json',
  pendingRef,
});

describe('certificates awaiting the merge of the rotations pull request', () => {
  git('init', '--quiet', '--initial-branch=main');
  git('add', '.');
  git('commit', '--quiet', '-m', 'seed');
  git('checkout', '--quiet', '-b', 'ottr/rotations');
  const text = readFileSync(join(repo.root, FW), 'utf8');
  writeFileSync(
    join(repo.root, FW),
    applyCertificate(text, {
      not_before: '2026-11-22T06:00:00Z',
      not_after: '2027-02-20T06:00:00Z',
      serial: '0abc',
      issuer: 'CN=E7',
      sha256_fingerprint: 'AA',
      rotated_at: '2026-11-22T06:05:00Z',
    })!,
  );
  git('commit', '--quiet', '-am', 'ottr: record 1 rotated certificate(s)');
  git('checkout', '--quiet', 'main');

  it('count as recorded: a device rotated yesterday is not due again before the merge', async () => {
    const before = await planRun(settings('refs/heads/no-such-branch'));
    expect(before.plan.due.map((d) => d.system_name)).toContain('fw-sfo1-01');
    const after = await planRun(settings('refs/heads/ottr/rotations'));
    expect(after.plan.due.map((d) => d.system_name)).not.toContain('fw-sfo1-01');
    expect(after.pending).toEqual(['fw-sfo1-01']);
    expect(after.summary).toMatch(/1 device\(s\) already rotated, awaiting the merge .*: fw-sfo1-01/);
    expect(after.plan.due).toHaveLength(before.plan.due.length - 1);
  });

  it('an older block on the branch never overrides a newer one on the default branch', async () => {
    git('checkout', '--quiet', '-b', 'ottr/old');
    const text = readFileSync(join(repo.root, FW), 'utf8');
    writeFileSync(
      join(repo.root, FW),
      text.replace(/not_after: "[^"]+"/, 'not_after: "2020-01-01T00:00:00Z"'),
    );
    git('commit', '--quiet', '-am', 'old');
    git('checkout', '--quiet', 'main');
    const plan = await planRun(settings('refs/heads/ottr/old'));
    expect(plan.pending).toEqual([]);
  });
});
