// npm run bench:issue — 100 issuances of 2-name certificates against the lab (Debian's Pebble, the Route53
// emulator, the authoritative DNS server with the propagation check), at concurrency 1 and 10. Prints median and
// p95 latency per issuance and issuances per second. Target: median ≤ 300 ms at concurrency 1.
import * as acme from 'acme-client';
import { registerAccount } from '../../src/acme/account.ts';
import { issueCertificate } from '../../src/acme/issuance.ts';
import { resolverFor } from '../../src/dns/resolver.ts';
import { route53Provider } from '../../src/dns/route53-provider.ts';
import type { Authority, Device } from '../../src/model/types.ts';
import { DELEGATE_ZONE, DELEGATE_ZONE_ID, LAB_CREDENTIALS, startDnsLab } from '../lab/dns/lab.ts';
import { startPebble } from '../lab/pebble/pebble.ts';

const COUNT = Number(process.env.BENCH_ISSUANCES ?? 100);
const lab = await startDnsLab();
const pebble = await startPebble({ dnsServer: lab.server });
try {
  acme.axios.defaults.httpsAgent = pebble.agent;
  const authority: Authority = { directory: pebble.directoryUrl, account_key_secret: 'LAB_ACCOUNT_KEY' };
  const { accountKeyPem } = await registerAccount(authority, pebble.directoryUrl, {});
  const provider = route53Provider({
    hostedZoneId: DELEGATE_ZONE_ID,
    endpoint: lab.route53.endpoint,
    credentials: LAB_CREDENTIALS,
    baseDelayMs: 5,
    maxAttempts: 60,
  });
  const aliasResolver = resolverFor([lab.server]);

  // Device keys and CSRs are made up front: on a real rotation the device makes them, not the runner.
  async function prepare(run: string, i: number) {
    const device: Device = {
      system_name: `b${i}`,
      common_name: `b${i}.${run}.example.com`,
      subject_alternative_names: [`www.b${i}.${run}.example.com`],
      host_platform: 'linux',
      os_version: '12',
      data_center: 'lab',
      certificate_authority: 'lab',
    };
    lab.addAliases([device.common_name, ...device.subject_alternative_names!]);
    const [, csr] = await acme.crypto.createCsr(
      {
        commonName: device.common_name,
        altNames: [device.common_name, ...device.subject_alternative_names!],
      },
      await acme.crypto.createPrivateEcdsaKey('P-256'),
    );
    return { device, csrPem: csr.toString() };
  }

  console.log(
    `bench:issue: ${COUNT} issuances of 2-name certificates (Pebble ${pebble.directoryUrl}, DNS ${lab.server})`,
  );
  for (const concurrency of [1, 10]) {
    const run = `c${concurrency}`;
    const jobs = await Promise.all(Array.from({ length: COUNT }, (_, i) => prepare(run, i)));
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          const t = performance.now();
          await issueCertificate({
            device: job.device,
            csrPem: job.csrPem,
            authority,
            directoryUrl: pebble.directoryUrl,
            accountKeyPem,
            dns: {
              provider,
              delegateZone: DELEGATE_ZONE,
              nameservers: [lab.server],
              propagationTimeoutMs: 10_000,
              aliasResolver,
            },
          });
          latencies.push(performance.now() - t);
        }
      }),
    );
    const wall = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    const median = pct(0.5);
    console.log(
      `  concurrency ${String(concurrency).padStart(2)}: median ${median.toFixed(0)} ms, p95 ${pct(0.95).toFixed(0)} ms, ` +
        `${(latencies.length / wall).toFixed(1)} issuances/s (${latencies.length} in ${wall.toFixed(1)} s)` +
        (concurrency === 1 ? `; target median ≤ 300 ms: ${median <= 300 ? 'met' : 'MISSED'}` : ''),
    );
  }
} finally {
  await pebble.stop();
  await lab.stop();
}
