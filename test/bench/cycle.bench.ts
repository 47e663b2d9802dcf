// npm run bench:cycle — 200 simulated devices of mixed platforms through the whole pipeline in one process:
// plan → rotate (key and CSR on the device, ACME order at Pebble with DNS-01 through the Route53 emulator,
// install, activate, verify) at concurrency 20 → results applied to the inventory and the pull request body.
// Target: ≤ 60 s. Prints wall time, rotations per minute, per-phase medians and peak RSS.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyResults } from '../../src/gitops/apply-results.ts';
import { renderPullRequest } from '../../src/gitops/pr-body.ts';
import { buildPlan } from '../../src/plan/build-plan.ts';
import { planInput } from '../../src/plan/input.ts';
import { loadRepository } from '../../src/repository/load.ts';
import { rotateMany } from '../../src/rotate/run.ts';
import { secretMap } from '../../src/secrets/source.ts';
import { type LinuxHost, startLinuxHost } from '../lab/devices/linux-host.ts';
import { DELEGATE_ZONE, DELEGATE_ZONE_ID, LAB_CREDENTIALS } from '../lab/dns/lab.ts';
import { F5Simulator } from '../lab/f5/simulator.ts';
import { startIssuanceLab } from '../lab/issuance-lab.ts';
import { LighthouseSimulator } from '../lab/lighthouse/simulator.ts';
import { PanosSimulator } from '../lab/panos/simulator.ts';
import { servedSpkiPin } from '../lab/pin.ts';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const PASSWORD = 'bench-appliance-password';
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};

const setupStarted = Date.now();
const ca = await startIssuanceLab({
  directory: 'https://unused.invalid/dir',
  account_key_secret: 'LAB_ACCOUNT_KEY',
  key: { type: 'ecdsa', curve: 'P-256' },
});
const root = mkdtempSync(join(tmpdir(), 'ottr-bench-cycle-'));
const stops: (() => Promise<void>)[] = [];
try {
  mkdirSync(join(root, 'routing'));
  writeFileSync(join(root, 'routing/lab-ca.pem'), ca.roots.join('\n'));
  writeFileSync(
    join(root, 'routing/settings.yaml'),
    `authorities:
  lab: { directory: ${ca.pebble.directoryUrl}, account_key_secret: LAB_ACCOUNT_KEY, key: { type: ecdsa, curve: P-256 }, roots_file: routing/lab-ca.pem, ari: false }
  lab_rsa: { directory: ${ca.pebble.directoryUrl}, account_key_secret: LAB_ACCOUNT_KEY, key: { type: rsa, size: 2048 }, roots_file: routing/lab-ca.pem, ari: false }
dns:
  provider: route53
  delegate_zone: ${DELEGATE_ZONE}
  hosted_zone_id: ${DELEGATE_ZONE_ID}
  resolvers: ["${ca.dns.server}"]
  propagation: { check: authoritative, timeout: 30s, nameservers: ["${ca.dns.server}"] }
runners: { by_data_center: { dc0: [self-hosted], dc1: [self-hosted], dc2: [self-hosted], dc3: [self-hosted] } }
secrets:
  LAB_ACCOUNT_KEY: { purpose: acme_account }
  APPLIANCE: { purpose: device_credential, data_centers: [dc0, dc1, dc2, dc3] }
${Array.from({ length: DEVICES }, (_, i) => i)
  .filter((i) => i % 20 === 19)
  .map(
    (i) => `  SSH_${i}: { purpose: device_credential, data_centers: [dc${i % 4}], platforms: [linux-ssh] }\n`,
  )
  .join(
    '',
  )}names: { dc0: { suffixes: [example.com] }, dc1: { suffixes: [example.com] }, dc2: { suffixes: [example.com] }, dc3: { suffixes: [example.com] } }
limits: { shard_concurrency: ${Math.min(CONCURRENCY, 64)}, timeout: 5m }
`,
  );
  const routes = [
    '  - { name: panos, match: { host_platform: panos }, platform: panos }',
    '  - { name: f5-vs, match: { host_platform: f5, device_model: [vs] }, platform: f5, options: { client_ssl_profile: /Common/clientssl } }',
    '  - { name: f5-httpd, match: { host_platform: f5 }, platform: f5, options: { target: httpd } }',
    '  - { name: lighthouse, match: { host_platform: lighthouse }, platform: lighthouse }',
  ];
  const hosts: LinuxHost[] = [];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LAB_ACCOUNT_KEY: ca.accountKeyPem,
    APPLIANCE: `admin:${PASSWORD}`,
    AWS_ENDPOINT_URL_ROUTE_53: ca.dns.route53.endpoint,
  };
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: LAB_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LAB_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'eu-west-1',
  });
  const mix = { panos: 0, f5: 0, lighthouse: 0, linux: 0 };
  for (let i = 0; i < DEVICES; i++) {
    const name = `dev-${String(i).padStart(3, '0')}`;
    const cn = `${name}.example.com`;
    const names = [cn, `alt.${cn}`];
    ca.dns.addAliases(names);
    const dc = `dc${i % 4}`;
    mkdirSync(join(root, 'inventory', dc), { recursive: true });
    const slot = i % 20;
    const platform = slot < 7 ? 'panos' : slot < 13 ? 'f5' : slot < 19 ? 'lighthouse' : 'linux';
    mix[platform]++;
    let connection: string;
    let extra = '';
    if (platform === 'linux') {
      const host = await startLinuxHost(names);
      hosts.push(host);
      stops.push(() => host.stop());
      env[`SSH_${i}`] = host.clientKeyPem;
      connection = `{ port: ${host.sshPort}, tls_port: ${host.tlsPort}, username: ${host.username}, credentials: SSH_${i}, ssh_host_key: "${host.hostKeyFingerprint}" }`;
      extra = `device_model: host-${i}\n`;
      routes.unshift(
        `  - { name: host-${i}, match: { host_platform: linux, device_model: [host-${i}] }, platform: linux-ssh, options: { certificate_path: ${host.certificatePath}, key_path: ${host.keyPath}, reload_command: "${host.reloadCommand}" } }`,
      );
    } else {
      const sim =
        platform === 'panos'
          ? new PanosSimulator(cn, { admin: PASSWORD })
          : platform === 'f5'
            ? new F5Simulator(cn, { admin: PASSWORD })
            : new LighthouseSimulator(cn, { admin: PASSWORD });
      await sim.start();
      stops.push(() => sim.stop());
      const pin = await servedSpkiPin({ host: '127.0.0.1', port: sim.port, servername: cn });
      const virtual = sim instanceof F5Simulator && i % 2 === 0;
      if (virtual) extra = 'device_model: vs\n';
      connection = `{ port: ${sim.port},${virtual ? ` tls_port: ${(sim as F5Simulator).virtualPort},` : ''} credentials: APPLIANCE, tls_spki_sha256: "${pin}" }`;
    }
    writeFileSync(
      join(root, 'inventory', dc, `${name}.yaml`),
      `system_name: ${name}
common_name: ${cn}
subject_alternative_names: [alt.${cn}]
host_platform: ${platform}
os_version: "${platform === 'panos' ? '11.1.2' : platform === 'f5' ? '17.1.0' : platform === 'lighthouse' ? '24.02.0' : '12'}"
${extra}data_center: ${dc}
ip_address: 127.0.0.1
certificate_authority: ${platform === 'lighthouse' ? 'lab_rsa' : 'lab'}
certificate_validation: ${platform === 'linux' ? 'true' : 'false'}
connection: ${connection}
`,
    );
  }
  writeFileSync(join(root, 'routing/routes.yaml'), `routes:\n${routes.join('\n')}\n`);
  const setupMs = Date.now() - setupStarted;

  const started = Date.now();
  const repo = await loadRepository(root);
  if (!repo.settings || repo.problems.some((p) => p.severity === 'error'))
    throw new Error(`the bench repository is invalid: ${JSON.stringify(repo.problems.slice(0, 3))}`);
  const plan = buildPlan(planInput(repo.records, repo.settings, new Date()));
  const planMs = Date.now() - started;
  const due = new Set(plan.due.map((d) => d.system_name));
  const records = repo.records.filter((r) => due.has(r.system_name));
  let done = 0;
  const secrets = secretMap(
    Object.fromEntries(
      Object.entries(env).filter(
        ([k, v]) => v && (k === 'LAB_ACCOUNT_KEY' || k === 'APPLIANCE' || /^SSH_\d+$/.test(k)),
      ),
    ) as Record<string, string>,
    'the bench',
  );
  const results = await rotateMany(repo, records, CONCURRENCY, { env, secrets, log: () => {} }, () => {
    done++;
    if (done % 25 === 0)
      process.stdout.write(
        `  ${done}/${records.length} devices done (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
      );
  });
  const rotateMs = Date.now() - started - planMs;
  const applied = applyResults(root, new Map(repo.records.map((r) => [r.system_name, r.file])), results);
  const body = renderPullRequest(results).body;
  const totalMs = Date.now() - started;

  const failed = results.filter((r) => r.status !== 'rotated');
  const phases = new Map<string, number[]>();
  for (const r of results)
    for (const p of r.phases) phases.set(p.name, [...(phases.get(p.name) ?? []), p.ms]);
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    `bench:cycle — ${DEVICES} devices (${Object.entries(mix)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}), concurrency ${CONCURRENCY}`,
  );
  console.log(`  lab set-up (not counted): ${(setupMs / 1000).toFixed(1)} s`);
  console.log(`  plan: ${planMs} ms (${plan.due.length} due)`);
  console.log(
    `  rotate: ${(rotateMs / 1000).toFixed(1)} s — ${results.length - failed.length} rotated, ${failed.length} not`,
  );
  console.log(`  apply + pull request body: ${applied.updated.length} files, ${body.length} characters`);
  console.log(
    `  total: ${(totalMs / 1000).toFixed(1)} s (target ≤ 60 s) — ${((results.length - failed.length) / (totalMs / 60_000)).toFixed(0)} rotations per minute`,
  );
  console.log(`  per-phase medians: ${[...phases].map(([n, xs]) => `${n} ${median(xs)} ms`).join(', ')}`);
  console.log(
    `  peak RSS: ${rss.toFixed(0)} MB (this process: simulators, driver and issuer; Pebble runs apart)`,
  );
  for (const f of failed.slice(0, 5))
    console.log(`  not rotated: ${f.system_name}: ${f.error?.phase} ${f.error?.class}: ${f.error?.message}`);
  process.exitCode = failed.length === 0 && totalMs <= 60_000 ? 0 : 1;
} finally {
  for (const stop of stops) await stop().catch(() => {});
  await ca.stop();
  rmSync(root, { recursive: true, force: true });
}
