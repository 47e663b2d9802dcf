import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runActionBundle } from '../helpers/action.ts';
import { makeRepo, PROJECT_ROOT, runCli, type TempRepo } from '../helpers/cli.ts';
import { git, sampleRemote } from '../helpers/git.ts';
import { LAB_CREDENTIALS } from '../lab/dns/lab.ts';
import { Ec2Emulator } from '../lab/ec2/emulator.ts';
import { GitHubEmulator } from '../lab/github/emulator.ts';
import { SsmEmulator } from '../lab/ssm/emulator.ts';

const TOKEN = 'ghs_labTokenForTheSyncAction0000000001';
const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/sync');
const scratch = mkdtempSync(join(tmpdir(), 'ottr-sync-'));
let ssm: SsmEmulator;
let ec2: Ec2Emulator;
let awsEnv: Record<string, string>;

/** A device the inventory has whose instance SSM does not list. */
const GONE_DEVICE = `# yaml-language-server: $schema=../../schemas/device.schema.json
system_name: app-ams2-09
common_name: app9.ams2.example.com
host_platform: linux
os_version: "2023"
device_model: ec2
data_center: ams2
certificate_authority: lets_encrypt
connection:
  instance_id: i-0999999999999999a
  region: eu-west-1
`;

beforeAll(async () => {
  ssm = new SsmEmulator();
  await ssm.start();
  ec2 = new Ec2Emulator(ssm.instances);
  await ec2.start();
  const tags = (cn: string, extra: Record<string, string> = {}) => ({
    'ottr:common_name': cn,
    'ottr:data_center': 'ams2',
    'ottr:certificate_authority': 'lets_encrypt',
    ...extra,
  });
  ssm.instances.push(
    {
      id: 'i-0a1b2c3d4e5f60718',
      tags: tags('app.example.com', {
        'ottr:owner': 'platform@example.com',
        'ottr:san': '*.app.example.com',
      }),
      online: true,
      dir: scratch,
      platformVersion: '2023',
    },
    {
      id: 'i-0123456789abcdef0',
      tags: tags('app3.ams2.example.com', { Name: 'app-ams2-03', 'ottr:owner': 'app-team@example.com' }),
      online: true,
      dir: scratch,
      platformVersion: '2023',
    },
    { id: 'mi-0aaaaaaaaaaaaaaaa', tags: tags('lost.example.com'), online: false, dir: scratch },
  );
  // More instances than one DescribeInstanceInformation page (50) holds, none of them tagged for ottr.
  for (let n = 0; n < 52; n++)
    ssm.instances.push({
      id: `i-0f${String(n).padStart(15, '0')}`,
      tags: { Name: `batch-${n}` },
      online: true,
      dir: scratch,
    });
  awsEnv = {
    AWS_ACCESS_KEY_ID: LAB_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LAB_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    AWS_ENDPOINT_URL_EC2: ec2.endpoint,
  };
});
afterAll(async () => {
  await ssm?.stop();
  await ec2?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('ottr sync aws-ssm against the SSM emulator', () => {
  let repo: TempRepo;
  beforeEach(() => {
    repo = makeRepo({ withSampleInventory: true });
    repo.write('inventory/ams2/app-ams2-09.yaml', GONE_DEVICE);
    return () => repo.cleanup();
  });

  it('proposes new and updated devices, lists skipped and vanished ones, and writes nothing by default', async () => {
    const requests = ssm.requests.length;
    const run = await runCli(['sync', 'aws-ssm'], repo.root, awsEnv);
    expect(run.code, run.output).toBe(0);
    const calls = ssm.requests.slice(requests);
    expect(calls.filter((c) => c === 'DescribeInstanceInformation')).toHaveLength(2);
    // 54 EC2 instances: their tags come from EC2 DescribeTags in one batch; one hybrid node asks SSM.
    expect(calls.filter((c) => c === 'ListTagsForResource')).toHaveLength(1);
    expect(ec2.requests.filter((c) => c === 'DescribeTags')).toHaveLength(1);
    expect(run.stderr).toContain('55 managed instance(s) in eu-west-1');
    expect(run.stdout).toContain('new (1):\n  inventory/ams2/app-ams2-03.yaml  ← i-0123456789abcdef0');
    expect(run.stdout).toContain('update (1):\n  inventory/ams2/app-ams2-01.yaml  ← i-0a1b2c3d4e5f60718');
    expect(run.stdout).toContain('    owner: "app-team@example.com" → "platform@example.com"');
    expect(run.stdout).toContain('    labels.ottr/source: (none) → "aws-ssm"');
    expect(run.stdout).toContain('  mi-0aaaaaaaaaaaaaaaa: is ConnectionLost in SSM');
    expect(run.stdout).toContain(
      '  i-0f000000000000000: missing tag ottr:common_name, tag ottr:data_center, tag ottr:certificate_authority',
    );
    expect(run.stdout).toContain(
      'vanished — listed only, never deleted (1):\n  inventory/ams2/app-ams2-09.yaml: instance i-0999999999999999a is no longer managed by SSM in eu-west-1',
    );
    expect(run.stdout).toContain('dry run: nothing written');
    expect(existsSync(join(repo.root, 'inventory/ams2/app-ams2-03.yaml'))).toBe(false);
  });

  it('--write writes files that validate; a second run proposes nothing and deletes nothing', async () => {
    const run = await runCli(['sync', 'aws-ssm', '--write', '--region', 'eu-west-1'], repo.root, awsEnv);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toContain('wrote 2 file(s)');
    const created = readFileSync(join(repo.root, 'inventory/ams2/app-ams2-03.yaml'), 'utf8');
    expect(created.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schemas/device.schema.json');
    expect(parse(created)).toEqual({
      system_name: 'app-ams2-03',
      common_name: 'app3.ams2.example.com',
      host_platform: 'linux',
      os_version: '2023',
      device_model: 'ec2',
      data_center: 'ams2',
      certificate_authority: 'lets_encrypt',
      connection: { instance_id: 'i-0123456789abcdef0', region: 'eu-west-1' },
      owner: 'app-team@example.com',
      labels: { 'ottr/source': 'aws-ssm' },
    });
    const updated = parse(readFileSync(join(repo.root, 'inventory/ams2/app-ams2-01.yaml'), 'utf8'));
    expect(updated.owner).toBe('platform@example.com');
    expect(updated.certificate.serial).toBe('03d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7');
    expect((await runCli(['validate'], repo.root)).code).toBe(0);

    const again = await runCli(['sync', 'aws-ssm', '--format', 'json', '--write'], repo.root, awsEnv);
    expect(again.code, again.output).toBe(0);
    const report = JSON.parse(again.stdout);
    expect(report).toMatchObject({ new: [], updated: [], written: [] });
    expect(report.unchanged.map((u: { file: string }) => u.file).sort()).toEqual([
      'inventory/ams2/app-ams2-01.yaml',
      'inventory/ams2/app-ams2-03.yaml',
    ]);
    expect(report.vanished).toHaveLength(1);
    expect(existsSync(join(repo.root, 'inventory/ams2/app-ams2-09.yaml'))).toBe(true);
  });

  it('fails clearly without a region, and when SSM cannot be reached', async () => {
    const { AWS_REGION: _region, ...noRegion } = awsEnv;
    const missing = await runCli(['sync', 'aws-ssm'], repo.root, noRegion);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no region: pass --region or set AWS_REGION');
    const unsigned = await runCli(['sync', 'aws-ssm'], repo.root, {
      ...awsEnv,
      AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:1',
    });
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/^ottr sync: SSM in eu-west-1: /);
  });
});

describe('ottr sync file', () => {
  let repo: TempRepo;
  beforeEach(() => {
    repo = makeRepo({ withSampleInventory: true });
    return () => repo.cleanup();
  });

  for (const fixture of ['cmdb.csv', 'cmdb.json']) {
    it(`${fixture}: new, updated in the exported columns only, skipped with the missing column`, async () => {
      const run = await runCli(['sync', 'file', join(FIXTURES, fixture), '--report', 'json'], repo.root);
      expect(run.code, run.output).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.new.map((n: { file: string }) => n.file)).toEqual(['inventory/sfo1/fw-sfo1-03.yaml']);
      expect(report.updated).toEqual([
        {
          file: 'inventory/sfo1/lb-sfo1-01.yaml',
          ref: fixture.endsWith('.csv') ? 'line 3 (lb-sfo1-01)' : 'item 2 (lb-sfo1-01)',
          changes: [
            { field: 'os_version', from: '16.1.3', to: '17.1.1' },
            { field: 'ip_address', from: '192.0.2.55', to: '192.0.2.21' },
            { field: 'owner', from: 'web-platform@example.com', to: 'lb-team@example.com' },
            { field: 'labels.ottr/source', to: 'cmdb' },
          ],
        },
      ]);
      expect(report.skipped).toEqual([
        {
          ref: fixture.endsWith('.csv') ? 'line 4 (console-sfo1-09)' : 'item 3 (console-sfo1-09)',
          reason: 'missing common_name (column common_name or fqdn or dns_name)',
        },
      ]);
    });
  }

  it('--out writes the proposals elsewhere; --write writes them into a repository that still validates', async () => {
    const out = mkdtempSync(join(scratch, 'out-'));
    const elsewhere = await runCli(['sync', 'file', join(FIXTURES, 'cmdb.csv'), '--out', out], repo.root);
    expect(elsewhere.code, elsewhere.output).toBe(0);
    expect(existsSync(join(out, 'inventory/sfo1/fw-sfo1-03.yaml'))).toBe(true);
    expect(existsSync(join(repo.root, 'inventory/sfo1/fw-sfo1-03.yaml'))).toBe(false);

    const run = await runCli(['sync', 'file', join(FIXTURES, 'cmdb.csv'), '--write'], repo.root);
    expect(run.code, run.output).toBe(0);
    const device = parse(readFileSync(join(repo.root, 'inventory/sfo1/fw-sfo1-03.yaml'), 'utf8'));
    expect(device).toMatchObject({
      host_platform: 'panos',
      owner: 'Network Ops, Firewalls',
      labels: { 'ottr/source': 'cmdb' },
    });
    expect((await runCli(['validate'], repo.root)).code).toBe(0);

    // The export drops the firewall: it is listed as vanished, and stays.
    const shorter = join(scratch, 'shorter.csv');
    cpSync(join(FIXTURES, 'cmdb.csv'), shorter);
    const lines = readFileSync(shorter, 'utf8').split('\r\n');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(shorter, [lines[0], ...lines.slice(2)].join('\r\n'));
    const after = await runCli(['sync', 'file', shorter, '--write'], repo.root);
    expect(after.stdout).toContain('inventory/sfo1/fw-sfo1-03.yaml: no longer in the cmdb export');
    expect(existsSync(join(repo.root, 'inventory/sfo1/fw-sfo1-03.yaml'))).toBe(true);
  });

  it('reports proposals that would not validate at their line and writes none of them', async () => {
    repo.write(
      'bad.csv',
      'hostname,fqdn,platform,os,site,ca\nnew-sfo1-01,new.example.com,panos,10.2.4,sfo1,no_such_ca\n',
    );
    const run = await runCli(['sync', 'file', 'bad.csv', '--write'], repo.root);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /invalid — not written \(1\):\n {2}inventory\/sfo1\/new-sfo1-01\.yaml {2}← line 2 \(new-sfo1-01\)\n( {4}.*\n)* {4}inventory\/sfo1\/new-sfo1-01\.yaml:\d+:\d+: error: certificate_authority: "no_such_ca" is not an authority/,
    );
    expect(existsSync(join(repo.root, 'inventory/sfo1/new-sfo1-01.yaml'))).toBe(false);
  });

  it('names broken input by line', async () => {
    repo.write('broken.csv', 'hostname,fqdn\n"open,x\n');
    const csv = await runCli(['sync', 'file', 'broken.csv'], repo.root);
    expect(csv.code).toBe(1);
    expect(csv.stderr).toContain('broken.csv:2: invalid CSV: a quoted field is not closed');
    repo.write('broken.json', '[{"hostname": "a",}]');
    const json = await runCli(['sync', 'file', 'broken.json'], repo.root);
    expect(json.stderr).toMatch(/broken\.json:1:\d+: invalid JSON/);
  });
});

describe('actions/sync run as the runner runs it', () => {
  let github: GitHubEmulator;
  let bare: string;
  let checkout: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(scratch, 'remote-'));
    bare = sampleRemote(dir);
    checkout = join(dir, 'checkout');
    git(dir, 'clone', '--quiet', bare, checkout);
    github = new GitHubEmulator();
    github.tokens.add(TOKEN);
    await github.start();
    github.addRepo('acme', 'pki', { gitDir: bare });
  });
  afterAll(async () => {
    await github?.stop();
  });

  const runSync = () =>
    runActionBundle(
      'sync',
      { root: checkout, 'github-token': TOKEN, labels: 'onboarding' },
      { ...awsEnv, GITHUB_API_URL: github.url, GITHUB_WORKSPACE: checkout },
      { repository: { default_branch: 'main' } },
    );

  it('opens the onboarding pull request with the proposals', async () => {
    const run = await runSync();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({
      new: '1',
      updated: '1',
      vanished: '0',
      invalid: '0',
      'pull-request-action': 'created',
    });
    const pull = github.pulls.find((p) => p.number === Number(run.outputs['pull-request-number']))!;
    expect(pull).toMatchObject({
      head: 'ottr/onboarding',
      base: 'main',
      state: 'open',
      labels: ['onboarding'],
    });
    expect(pull.title).toBe('ottr: onboard 1 device, update 1 (aws-ssm)');
    expect(pull.body).toContain('| `inventory/ams2/app-ams2-03.yaml` | i-0123456789abcdef0 |');
    expect(pull.body).toContain('| `inventory/ams2/app-ams2-01.yaml` | `owner` |');
    const device = parse(git(bare, 'show', 'ottr/onboarding:inventory/ams2/app-ams2-03.yaml'));
    expect(device.connection.instance_id).toBe('i-0123456789abcdef0');
    expect(git(bare, 'diff', '--name-only', 'main...ottr/onboarding').trim().split('\n')).toEqual([
      'inventory/ams2/app-ams2-01.yaml',
      'inventory/ams2/app-ams2-03.yaml',
    ]);
    expect(run.summary).toMatch(/\*\*Pull request:\*\* \[#\d+\]/);
    expect(run.stdout.replace(`::add-mask::${TOKEN}`, '')).not.toContain(TOKEN);
  }, 60_000);

  it('a second run with the same data changes nothing', async () => {
    const before = git(bare, 'rev-parse', 'ottr/onboarding').trim();
    const writes = github.requests.length;
    const run = await runSync();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['pull-request-action']).toBe('unchanged');
    expect(git(bare, 'rev-parse', 'ottr/onboarding').trim()).toBe(before);
    expect(github.requests.slice(writes).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(github.pulls.filter((p) => p.state === 'open')).toHaveLength(1);
  }, 60_000);
});
