import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chainProblems, fetchServedChain } from '../../src/verify/tls.ts';
import { type CycleOutcome, LAB_NOW, runCycle } from '../lab/cycle.ts';
import { type FullLab, startFullLab } from '../lab/full-lab.ts';

let lab: FullLab;
const before = new Map<string, string | undefined>();

beforeAll(async () => {
  lab = await startFullLab();
  for (const d of lab.devices) before.set(d.system_name, await lab.servedSerial(d.system_name));
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

const git = (...args: string[]) => execFileSync('git', args, { cwd: lab.origin, encoding: 'utf8' });
const rotatedNames = (c: CycleOutcome) =>
  c.results.filter((r) => r.status === 'rotated').map((r) => r.system_name);

/** The rotations branch differs from main only in `certificate:` blocks; returns the files it changes. */
function onlyCertificateBlocksChanged(): string[] {
  const files = git('diff', '--name-only', 'main...ottr/rotations').split('\n').filter(Boolean);
  for (const file of files) {
    const base = parse(git('show', `main:${file}`));
    const branch = parse(git('show', `ottr/rotations:${file}`));
    delete base.certificate;
    delete branch.certificate;
    expect(branch, `${file} changed outside its certificate block`).toEqual(base);
  }
  return files.sort();
}

describe('a whole scheduled cycle in the lab (plan → rotate jobs → report), as rotate.yml runs it', () => {
  let first: CycleOutcome;

  it('rotates every due device: each serves a certificate from the lab CA on a key it generated itself', async () => {
    first = await runCycle(lab, { now: LAB_NOW });
    const due = first.matrix.flatMap((e) => e.devices ?? []).sort();
    expect(due).toEqual([
      'app-ams2-01',
      'console-ams2-01',
      'fw-ams2-01',
      'fw-sfo1-01',
      'lb-sfo1-01',
      'web-sfo1-01',
    ]);
    expect(new Set(lab.devices.filter((d) => due.includes(d.system_name)).map((d) => d.platform))).toEqual(
      new Set(['panos', 'f5', 'lighthouse', 'linux']),
    );
    expect(rotatedNames(first).sort()).toEqual(due);
    const roots = lab.ca.roots.map((pem) => new X509Certificate(pem));
    for (const name of due) {
      const device = lab.devices.find((d) => d.system_name === name)!;
      const chain = await fetchServedChain(device.endpoint);
      const result = first.results.find((r) => r.system_name === name)!;
      expect(chain[0]!.serialNumber.toLowerCase(), name).toBe(result.certificate!.serial);
      expect(chainProblems(chain, roots), name).toEqual([]);
    }
    // The key is on the device: the Linux hosts' key files and the firewalls' stores match what they serve.
    for (const [name, host] of lab.hosts) {
      if (!due.includes(name)) continue;
      const served = (await fetchServedChain(lab.devices.find((d) => d.system_name === name)!.endpoint))[0]!;
      expect(served.checkPrivateKey(createPrivateKey(readFileSync(host.keyPath)))).toBe(true);
    }
    for (const [name, sim] of lab.panos) {
      if (!due.includes(name)) continue;
      const served = (await fetchServedChain(lab.devices.find((d) => d.system_name === name)!.endpoint))[0]!;
      const entry = sim.certificates.get(sim.servedCertificateName()!)!;
      expect(served.checkPrivateKey(createPrivateKey(entry.keyPem))).toBe(true);
    }
    // …and never reached the runner: not in a result, not in a job's log outside the masking commands.
    for (const job of first.jobs) {
      const log = (job.run?.stdout ?? '').split('\n').filter((l) => !l.startsWith('::add-mask::'));
      expect(log.join('\n')).not.toMatch(/PRIVATE KEY/);
    }
    expect(JSON.stringify(first.results)).not.toMatch(/PRIVATE KEY|lab-appliance-password/);
  }, 180_000);

  it('the pull request branch holds exactly the expiry updates, and devices not due are untouched', async () => {
    expect(first.report?.outputs['pull-request-action']).toBe('created');
    const files = onlyCertificateBlocksChanged();
    const rotatedFiles = lab.devices
      .filter((d) => rotatedNames(first).includes(d.system_name))
      .map((d) => d.file)
      .sort();
    expect(files).toEqual(rotatedFiles);
    for (const r of first.results) {
      const file = lab.devices.find((d) => d.system_name === r.system_name)!.file;
      expect(parse(git('show', `ottr/rotations:${file}`)).certificate.serial).toBe(r.certificate!.serial);
    }
    for (const d of lab.devices.filter((d) => !rotatedNames(first).includes(d.system_name)))
      expect(await lab.servedSerial(d.system_name), d.system_name).toBe(before.get(d.system_name));
    const pull = lab.github.pulls.find(
      (p) => p.number === Number(first.report?.outputs['pull-request-number']),
    )!;
    for (const name of rotatedNames(first)) expect(pull.body).toContain(name);
  });

  it('a second cycle right after is a no-op: nothing due, no new pull request', async () => {
    const pulls = lab.github.pulls.length;
    const second = await runCycle(lab, { now: LAB_NOW });
    expect(second.plan.outputs.has_work).toBe('false');
    expect(second.plan.summary).toMatch(/6 device\(s\) already rotated, awaiting the merge/);
    expect(second.jobs).toEqual([]);
    expect(second.report).toBeUndefined();
    expect(lab.github.pulls).toHaveLength(pulls);
  }, 60_000);

  it('a device whose commit fails is rolled back, keeps its old certificate, gets an issue and a Slack message', async () => {
    const faulty = 'fw-sfo1-02';
    const healthy = 'lb-ams2-01';
    const old = await lab.servedSerial(faulty);
    lab.panos.get(faulty)!.faults.add('commitFail');
    const slackBefore = lab.slack.received.length;
    const third = await runCycle(lab, { now: LAB_NOW, devices: `${faulty},${healthy}`, force: true });
    const failed = third.results.find((r) => r.system_name === faulty)!;
    expect(failed).toMatchObject({
      status: 'rolled_back',
      error: { phase: 'install', class: 'activate_failed' },
    });
    expect(failed.rollback?.restored).toBe(true);
    expect(await lab.servedSerial(faulty)).toBe(old);
    expect(third.results.find((r) => r.system_name === healthy)?.status).toBe('rotated');
    expect(await lab.servedSerial(healthy)).toBe(
      third.results.find((r) => r.system_name === healthy)!.certificate!.serial,
    );
    const issue = lab.github.issues.find((i) => i.title.includes(faulty));
    expect(issue?.state).toBe('open');
    expect(lab.slack.received.length).toBe(slackBefore + 1);
    expect(JSON.stringify(lab.slack.received.at(-1)!.body)).toContain(faulty);
    // The earlier run's updates stay on the branch next to this run's.
    expect(third.report?.outputs['pull-request-action']).toBe('updated');
    expect(onlyCertificateBlocksChanged()).toHaveLength(7);
  }, 120_000);

  it('when main changes between plan and report, the pull request is rebuilt on the new main and stays clean', async () => {
    const colleague = lab.clone('colleague');
    const push = () => {
      const file = `${colleague}/inventory/ams2/app-ams2-02.yaml`;
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(/^owner: .*$/m, 'owner: platform-team@example.com'),
      );
      const as = ['-c', 'user.name=Colleague', '-c', 'user.email=c@example.test'];
      execFileSync('git', [...as, 'commit', '-qam', 'app-ams2-02: new owner'], { cwd: colleague });
      execFileSync('git', ['push', '-q', 'origin', 'main'], { cwd: colleague });
    };
    const fourth = await runCycle(lab, {
      now: LAB_NOW,
      devices: 'fw-sfo1-02',
      force: true,
      beforeReport: push,
    });
    expect(fourth.results.map((r) => r.status)).toEqual(['rotated']);
    expect(git('merge-base', 'main', 'ottr/rotations').trim()).toBe(git('rev-parse', 'main').trim());
    expect(parse(git('show', 'ottr/rotations:inventory/ams2/app-ams2-02.yaml')).owner).toBe(
      'platform-team@example.com',
    );
    expect(onlyCertificateBlocksChanged()).toHaveLength(8);
    // It rotated: its failure issue is closed.
    expect(lab.github.issues.find((i) => i.title.includes('fw-sfo1-02'))?.state).toBe('closed');
  }, 120_000);
});
