import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, runCli, type TempRepo } from '../helpers/cli.ts';
import { DELEGATE_ZONE, type DnsLab, startDnsLab } from '../lab/dns/lab.ts';

let lab: DnsLab;
let repo: TempRepo;
let needed: { name: string; target: string; devices: string[] }[];

beforeAll(async () => {
  lab = await startDnsLab();
  repo = makeRepo({ withSampleInventory: true });
  const listed = await runCli(['dns-records', '--format', 'json'], repo.root);
  expect(listed.code, listed.stderr).toBe(0);
  needed = JSON.parse(listed.stdout);
});
afterAll(async () => {
  await lab?.stop();
  repo?.cleanup();
});

const base = (challenge: string) => challenge.replace(/^_acme-challenge\./, '');

describe('ottr dns-records --check against the lab DNS server', () => {
  it('lists the missing and wrong CNAMEs as the records to create, exits 1, then 0 once all are in place', async () => {
    expect(needed.length).toBeGreaterThan(3);
    const [missing, wrong, ...present] = needed;
    lab.addAliases(present.map((r) => base(r.name)));
    lab.store.put(lab.org, {
      name: wrong!.name,
      type: 'CNAME',
      ttl: 300,
      values: ['somewhere-else.example.org'],
    });

    const run = await runCli(['dns-records', '--check', '--resolver', lab.server], repo.root);
    expect(run.code, run.output).toBe(1);
    expect(run.stdout).toContain(
      `${needed.length} _acme-challenge CNAME(s) looked up through ${lab.server}: ${present.length} in place, 1 missing, 1 wrong, 0 not checked`,
    );
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('_acme-challenge.'));
    expect(lines).toHaveLength(2);
    const missingLine = lines.find((l) => l.startsWith(`${missing!.name}.`));
    expect(missingLine).toMatch(
      new RegExp(
        `^${missing!.name.replace(/\./g, '\\.')}\\.\\s+3600 IN CNAME ${missing!.target.replace(/\./g, '\\.')}\\.\\s+; missing, ${missing!.devices[0]}`,
      ),
    );
    const wrongLine = lines.find((l) => l.startsWith(`${wrong!.name}.`));
    expect(wrongLine).toContain(`IN CNAME ${wrong!.target}.`);
    expect(wrongLine).toContain('now CNAME somewhere-else.example.org.');
    for (const r of present) expect(run.stdout).not.toContain(`${r.name}. `);
    // every name really was asked of the lab server
    const asked = new Set(lab.dns.log.filter((q) => q.type === 'CNAME').map((q) => q.name.toLowerCase()));
    for (const r of needed) expect(asked).toContain(r.name);

    const json = await runCli(['dns-records', '--check', '--resolver', lab.server, '-o', 'json'], repo.root);
    expect(json.code).toBe(1);
    const states = Object.fromEntries(
      (JSON.parse(json.stdout) as { name: string; state: string; found?: string }[]).map((r) => [r.name, r]),
    );
    expect(states[missing!.name]).toMatchObject({ state: 'missing' });
    expect(states[wrong!.name]).toMatchObject({ state: 'wrong', found: 'somewhere-else.example.org' });
    expect(states[present[0]!.name]).toMatchObject({ state: 'in_place' });

    lab.addAliases([base(missing!.name), base(wrong!.name)]);
    const fixed = await runCli(['dns-records', '--check', '--resolver', lab.server], repo.root);
    expect(fixed.code, fixed.output).toBe(0);
    expect(fixed.stdout).toContain(`${needed.length} in place, 0 missing, 0 wrong, 0 not checked`);
    expect(fixed.stdout).not.toMatch(/^_acme-challenge\./m);
  });

  it('checks only the devices asked for, and says which names could not be asked (exit 1)', async () => {
    const device = needed[0]!.devices[0]!;
    const mine = needed.filter((r) => r.devices.includes(device));
    const run = await runCli(
      ['dns-records', '--check', '--devices', device, '--resolver', lab.server],
      repo.root,
    );
    expect(run.stdout).toContain(`${mine.length} _acme-challenge CNAME(s)`);

    // Nothing answers on port 1: the names are reported as not checked, not as missing, within seconds.
    const started = Date.now();
    const down = await runCli(
      ['dns-records', '--check', '--devices', device, '--resolver', '127.0.0.1:1'],
      repo.root,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(down.code).toBe(1);
    expect(down.stdout).toContain(`0 in place, 0 missing, 0 wrong, ${mine.length} not checked`);
    expect(down.stdout).toMatch(/; not checked: _acme-challenge\.\S+\. \((ECONNREFUSED|ETIMEOUT)\)/);
  });

  it('refuses a resolver given by name and --resolver without --check (exit 2)', async () => {
    const byName = await runCli(['dns-records', '--check', '--resolver', 'ns1.example.com'], repo.root);
    expect(byName.code).toBe(2);
    expect(byName.stderr).toMatch(/--resolver takes an IP address .*not "ns1\.example\.com"/);
    expect((await runCli(['dns-records', '--resolver', lab.server], repo.root)).code).toBe(2);
    expect(DELEGATE_ZONE).toBe('acme-delegate.example.net'); // the sample settings' delegate zone is the lab's
  });
});
