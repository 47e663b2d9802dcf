import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAccount } from '../../src/acme/account.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { runActionBundle } from '../helpers/action.ts';
import { PROJECT_ROOT, runCli } from '../helpers/cli.ts';
import { type LinuxHost, startLinuxHost } from '../lab/devices/linux-host.ts';
import {
  DELEGATE_ZONE,
  DELEGATE_ZONE_ID,
  type DnsLab,
  LAB_CREDENTIALS,
  startDnsLab,
} from '../lab/dns/lab.ts';
import { type Pebble, startPebble } from '../lab/pebble/pebble.ts';

let lab: DnsLab;
let pebble: Pebble;
let hosts: LinuxHost[];
let root: string;
let env: NodeJS.ProcessEnv;
let secrets: Record<string, string>;
const FROM_FILE = ['--secrets-file', 'secrets.json'];
const FROM_PREFIX = ['--secrets-env-prefix', 'LABSECRET_'];

function deviceYaml(name: string, host: LinuxHost): string {
  return `# yaml-language-server: $schema=../../schemas/device.schema.json
system_name: ${name}
common_name: ${name}.example.com
subject_alternative_names: [status.${name}.example.com]
host_platform: linux
os_version: "12"
data_center: lab
ip_address: 127.0.0.1
certificate_authority: lab
connection:
  port: ${host.sshPort}
  tls_port: ${host.tlsPort}
  username: ${host.username}
  credentials: LAB_SSH_KEY_${name.toUpperCase().replace(/-/g, '_')}
  ssh_host_key: "${host.hostKeyFingerprint}"
`;
}

beforeAll(async () => {
  lab = await startDnsLab();
  pebble = await startPebble({ dnsServer: lab.server });
  acme.axios.defaults.httpsAgent = pebble.agent;
  hosts = await Promise.all([
    startLinuxHost(['web-a.example.com', 'status.web-a.example.com']),
    startLinuxHost(['web-b.example.com', 'status.web-b.example.com']),
  ]);
  lab.addAliases([
    'web-a.example.com',
    'status.web-a.example.com',
    'web-b.example.com',
    'status.web-b.example.com',
  ]);
  root = mkdtempSync(join(tmpdir(), 'ottr-rotate-cli-'));
  mkdirSync(join(root, 'routing'));
  mkdirSync(join(root, 'inventory/lab'), { recursive: true });
  writeFileSync(join(root, 'routing/pebble-root.pem'), await pebble.rootsPem());
  writeFileSync(join(root, 'routing/pebble-https.pem'), pebble.httpsCaPem);
  writeFileSync(
    join(root, 'routing/settings.yaml'),
    `authorities:
  lab:
    directory: ${pebble.directoryUrl}
    account_key_secret: LAB_ACCOUNT_KEY
    key: { type: ecdsa, curve: P-256 }
    roots_file: routing/pebble-root.pem
dns:
  provider: route53
  delegate_zone: ${DELEGATE_ZONE}
  hosted_zone_id: ${DELEGATE_ZONE_ID}
  resolvers: ["${lab.server}"]
  propagation: { check: authoritative, timeout: 10s, nameservers: ["${lab.server}"] }
runners: { by_data_center: { lab: [self-hosted] } }
secrets:
  LAB_ACCOUNT_KEY: { purpose: acme_account }
  LAB_SSH_KEY_WEB_A: { purpose: device_credential, data_centers: [lab], routes: [web-a] }
  LAB_SSH_KEY_WEB_B: { purpose: device_credential, data_centers: [lab], routes: [web-b] }
names:
  lab: { suffixes: [example.com] }
limits: { shard_concurrency: 2, timeout: 2m }
`,
  );
  // Both hosts share the same nginx reload form but their own paths: one rule per host.
  writeFileSync(
    join(root, 'routing/routes.yaml'),
    `routes:
${hosts
  .map(
    (h, i) => `  - name: web-${'ab'[i]}
    match: { host_platform: linux, os_version: "12", device_model: [lab-${'ab'[i]}] }
    platform: linux-ssh
    options: { certificate_path: ${h.certificatePath}, key_path: ${h.keyPath}, reload_command: "${h.reloadCommand}" }`,
  )
  .join('\n')}
`,
  );
  writeFileSync(
    join(root, 'inventory/lab/web-a.yaml'),
    deviceYaml('web-a', hosts[0]!).replace('data_center: lab', 'device_model: lab-a\ndata_center: lab'),
  );
  writeFileSync(
    join(root, 'inventory/lab/web-b.yaml'),
    deviceYaml('web-b', hosts[1]!).replace('data_center: lab', 'device_model: lab-b\ndata_center: lab'),
  );
  mkdirSync(join(root, 'schemas'));
  for (const f of ['device', 'routes', 'settings'])
    writeFileSync(
      join(root, `schemas/${f}.schema.json`),
      readFileSync(join(PROJECT_ROOT, `schemas/${f}.schema.json`)),
    );
  const account = await registerAccount(
    { directory: pebble.directoryUrl, account_key_secret: 'X' },
    pebble.directoryUrl,
    {},
  );
  secrets = {
    LAB_ACCOUNT_KEY: account.accountKeyPem,
    LAB_SSH_KEY_WEB_A: hosts[0]!.clientKeyPem,
    LAB_SSH_KEY_WEB_B: hosts[1]!.clientKeyPem,
  };
  writeFileSync(join(root, 'secrets.json'), JSON.stringify(secrets));
  env = {
    // Secrets only under the prefix the command is told: `--secrets-env-prefix LABSECRET_`.
    ...Object.fromEntries(Object.entries(secrets).map(([k, v]) => [`LABSECRET_${k}`, v])),
    AWS_ENDPOINT_URL_ROUTE_53: lab.route53.endpoint,
    AWS_ACCESS_KEY_ID: LAB_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LAB_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    GITHUB_ACTIONS: 'true',
  };
}, 60_000);

afterAll(async () => {
  await Promise.all((hosts ?? []).map((h) => h.stop()));
  await pebble?.stop();
  await lab?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('ottr rotate', () => {
  it('validates the lab repository', async () => {
    const run = await runCli(['validate', '--root', root]);
    expect(run.output).toMatch(/^valid: 2 device files checked/m);
  });

  it('--dry-run checks precheck and CSR and writes a skipped result', async () => {
    const run = await runCli(
      [
        'rotate',
        '--device',
        'web-a',
        '--root',
        root,
        '--results',
        join(root, 'dry'),
        '--dry-run',
        ...FROM_FILE,
      ],
      root,
      env,
    );
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toContain(`secrets: 3 value(s) from file ${join(root, 'secrets.json')}`);
    expect(JSON.parse(readFileSync(join(root, 'dry/web-a.json'), 'utf8'))).toMatchObject({
      status: 'skipped',
      dry_run: true,
    });
  });

  it('rotates a shard of two devices with results, progress and masked secrets', async () => {
    const shard = join(root, 'shard.json');
    writeFileSync(shard, JSON.stringify({ devices: ['web-a', 'web-b'] }));
    const previousAws = process.env.AWS_ENDPOINT_URL_ROUTE_53;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_ROUTE_53: env.AWS_ENDPOINT_URL_ROUTE_53,
      AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
    });
    const run = await runCli(
      ['rotate', '--shard', shard, '--root', root, '--results', join(root, 'results'), ...FROM_PREFIX],
      root,
      env,
    );
    if (previousAws === undefined) delete process.env.AWS_ENDPOINT_URL_ROUTE_53;
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toMatch(/^web-a +verify +started/m);
    expect(run.stdout).toMatch(/2 of 2 device\(s\) rotated/);
    for (const [i, name] of ['web-a', 'web-b'].entries()) {
      const result = JSON.parse(readFileSync(join(root, `results/${name}.json`), 'utf8'));
      expect(result.status).toBe('rotated');
      const served = await fetchServedChain({
        host: '127.0.0.1',
        port: hosts[i]!.tlsPort,
        servername: `${name}.example.com`,
      });
      expect(served[0]!.serialNumber.toLowerCase()).toBe(result.certificate.serial);
    }
    // The account key and SSH keys are masked for the runner's log, and appear nowhere else.
    const masked = run.stdout.split('\n').filter((l) => l.startsWith('::add-mask::'));
    expect(masked.length).toBeGreaterThan(0);
    const rest = run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(rest).not.toMatch(/PRIVATE KEY/);
    expect(readFileSync(join(root, 'results/web-a.json'), 'utf8')).not.toMatch(/PRIVATE KEY/);
  }, 60_000);

  it('groups each phase in the log for one device under Actions and writes a job summary', async () => {
    const summary = join(root, 'summary.md');
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
    });
    const run = await runCli(
      ['rotate', '--device', 'web-a', '--root', root, '--results', join(root, 'single'), ...FROM_PREFIX],
      root,
      { ...env, GITHUB_STEP_SUMMARY: summary },
    ).finally(() => {
      for (const [key, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    expect(run.code, run.output).toBe(0);
    const groups = run.stdout.split('\n').filter((l) => l.startsWith('::group::'));
    expect(groups).toEqual([
      '::group::web-a: precheck',
      '::group::web-a: csr',
      '::group::web-a: order',
      '::group::web-a: install',
      '::group::web-a: verify',
      '::group::web-a: cleanup',
    ]);
    expect(run.stdout.split('\n').filter((l) => l === '::endgroup::')).toHaveLength(groups.length);
    expect(readFileSync(summary, 'utf8')).toMatch(/\| `web-a` \| rotated \| serial `[0-9a-f]+`, expires /);
  }, 60_000);

  it('fails with exit 1 and a result naming the missing secret, never reading it from elsewhere in the environment', async () => {
    const run = await runCli(
      [
        'rotate',
        '--device',
        'web-b',
        '--root',
        root,
        '--results',
        join(root, 'nosecret'),
        '--dry-run',
        ...FROM_PREFIX,
      ],
      root,
      // The account key is in the environment under its bare name, but not under the chosen prefix.
      { ...env, LABSECRET_LAB_ACCOUNT_KEY: '', LAB_ACCOUNT_KEY: secrets.LAB_ACCOUNT_KEY },
    );
    expect(run.code).toBe(1);
    expect(JSON.parse(readFileSync(join(root, 'nosecret/web-b.json'), 'utf8'))).toMatchObject({
      status: 'failed',
      error: {
        class: 'configuration',
        message:
          'the secret LAB_ACCOUNT_KEY is not set (secrets come from environment variables LABSECRET_<NAME>)',
      },
    });
  });

  it('usage errors exit 2: no secret source, two sources, an unknown device', async () => {
    expect((await runCli(['rotate', '--root', root])).code).toBe(2);
    const noSource = await runCli(['rotate', '--device', 'web-a', '--root', root], root, env);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr).toMatch(/--secrets-file FILE or --secrets-env-prefix PREFIX/);
    expect(
      (await runCli(['rotate', '--device', 'web-a', '--root', root, ...FROM_FILE, ...FROM_PREFIX], root, env))
        .code,
    ).toBe(2);
    expect(
      (await runCli(['rotate', '--device', 'web-c', '--root', root, ...FROM_FILE], root)).stderr,
    ).toMatch(/did you mean "web-[ab]"/);
  });

  it('actions/rotate (the committed bundle, run as the runner runs it) rotates one matrix entry', async () => {
    const run = await runActionBundle(
      'rotate',
      {
        root,
        entry: JSON.stringify({
          id: 'web-b',
          devices: ['web-b'],
          data_center: 'lab',
          runs_on: ['self-hosted'],
          environment: 'pki-lab',
          secrets: ['LAB_ACCOUNT_KEY', 'LAB_SSH_KEY_WEB_B'],
        }),
        'results-dir': 'action-results',
      },
      {
        ...env,
        // A private ACME CA's HTTPS is trusted the way the README says: NODE_EXTRA_CA_CERTS.
        NODE_EXTRA_CA_CERTS: join(root, 'routing/pebble-https.pem'),
        // rotate.yml's slots: OTTR_SECRET_<n> = secrets[matrix.secrets[n-1]].
        OTTR_SECRET_1: secrets.LAB_ACCOUNT_KEY,
        OTTR_SECRET_2: secrets.LAB_SSH_KEY_WEB_B,
      },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ rotated: '1', failed: '0', 'results-dir': 'action-results' });
    const result = JSON.parse(readFileSync(join(root, 'action-results/web-b.json'), 'utf8'));
    expect(result).toMatchObject({
      status: 'rotated',
      run_url: 'https://github.example/acme/pki/actions/runs/4242',
    });
    expect(run.stdout).toContain('::group::web-b: order');
    expect(run.summary).toMatch(/\| `web-b` \| rotated \|/);
    // Every secret value was masked before use, and none is printed otherwise.
    const masks = new Set(
      run.stdout
        .split('\n')
        .filter((l) => l.startsWith('::add-mask::'))
        .map((l) => l.slice(12)),
    );
    for (const line of secrets.LAB_SSH_KEY_WEB_B!.split('\n').filter((l) => l.trim()))
      expect(masks).toContain(line.trim());
    const unmasked = run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(unmasked).not.toMatch(/PRIVATE KEY/);
  }, 60_000);
});
