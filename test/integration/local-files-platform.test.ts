import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, createServer, type Server } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORMS, platformRegistry } from '../../src/platforms/registry.ts';
import { loadRepository } from '../../src/repository/load.ts';
import { rotateDevice } from '../../src/rotate/rotate-device.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { TestCa } from '../helpers/test-ca.ts';
import { localFiles } from '../platforms/local-files/index.ts';

/**
 * docs/adding-a-platform.md, played out: a platform that lives only in its folder (test/platforms/local-files)
 * joins the registry with one line, and from then on validation, the routes schema and a whole rotation treat
 * it like any built-in platform.
 */
const registry = platformRegistry([...PLATFORMS, localFiles]); // the registry line

const SAMPLE = new URL('../../', import.meta.url).pathname;
let root: string;
let deviceDir: string;
let server: Server;
let port = 0;
let ca: TestCa;

/** A TLS server that reads the device directory's live.key and live.crt at every handshake. */
function startServer(dir: string): Promise<void> {
  const live = () => ({
    key: readFileSync(join(dir, 'live.key')),
    cert: readFileSync(join(dir, 'live.crt')),
  });
  server = createServer({ ...live(), SNICallback: (_name, done) => done(null, createSecureContext(live())) });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

const ROUTE = `  - name: local-files
    match: { host_platform: local }
    platform: local-files
    options: { directory: DIRECTORY }
`;
const DEVICE = (port: number) => `# yaml-language-server: $schema=../../schemas/device.schema.json
system_name: files-sfo1-01
common_name: files.sfo1.example.com
host_platform: local
os_version: "1"
data_center: sfo1
certificate_authority: lets_encrypt
connection:
  tls_port: ${port}
`;

beforeAll(async () => {
  ca = await TestCa.create();
  root = mkdtempSync(join(tmpdir(), 'ottr-local-files-'));
  for (const folder of ['routing', 'inventory', 'schemas'])
    cpSync(join(SAMPLE, folder), join(root, folder), { recursive: true });
  // The device: a directory holding its first (already CA-issued) certificate, served over TLS.
  deviceDir = join(root, 'device');
  mkdirSync(deviceDir);
  const first = await ca.issue(['files.sfo1.example.com']);
  writeFileSync(join(deviceDir, 'live.key'), first.keyPem!);
  writeFileSync(join(deviceDir, 'live.crt'), first.pem);
  await startServer(deviceDir);
  port = (server.address() as { port: number }).port;
  const routes = readFileSync(join(root, 'routing/routes.yaml'), 'utf8');
  writeFileSync(
    join(root, 'routing/routes.yaml'),
    routes.replace('routes:\n', `routes:\n${ROUTE.replace('DIRECTORY', deviceDir)}\n`),
  );
  writeFileSync(join(root, 'inventory/sfo1/files-sfo1-01.yaml'), DEVICE(port));
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  rmSync(root, { recursive: true, force: true });
});

describe('a platform added with its folder and one registry line', () => {
  it('is unknown without the registry line: the routing rule is refused at its platform', async () => {
    const repo = await loadRepository(root);
    const problem = repo.problems.find((p) => p.file === 'routing/routes.yaml');
    expect(problem?.field).toBe('routes[0].platform');
    expect(problem?.line).toBe(8); // the `platform:` line of the rule
  });

  it('validates with it: the device is routed to local-files with no problem', async () => {
    const repo = await loadRepository(root, { platforms: registry });
    expect(repo.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const record = repo.records.find((r) => r.system_name === 'files-sfo1-01');
    expect(record?.device).toBeDefined();
    expect(repo.routes![record!.route!.index]!.platform).toBe('local-files');
  });

  it('checks the device against the manifest: a connection field it does not read is refused', async () => {
    const file = join(root, 'inventory/sfo1/files-sfo1-01.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good}  username: ottr\n`);
    try {
      const repo = await loadRepository(root, { platforms: registry });
      const problems = repo.problems.filter((p) => p.file === 'inventory/sfo1/files-sfo1-01.yaml');
      expect(problems.map((p) => [p.severity, p.field, p.line])).toEqual([
        ['error', 'connection.username', 10],
      ]);
      expect(problems[0]!.message).toMatch(/is not used by platform local-files .*it reads: tls_port/);
    } finally {
      writeFileSync(file, good);
    }
  });

  it('rotates end to end through the contract: the new key never leaves the directory', async () => {
    const repo = await loadRepository(root, { platforms: registry });
    const record = repo.records.find((r) => r.system_name === 'files-sfo1-01')!;
    const route = repo.routes![record.route!.index]!;
    const platform = registry.get(route.platform)!;
    const before = (
      await fetchServedChain({ host: '127.0.0.1', port, servername: record.device!.common_name })
    )[0]!;
    const seen: string[] = [];
    const result = await rotateDevice(record.device!, route, {
      driver: await platform.loadDriver(),
      driverOptions: platform.options.parse(route.options),
      key: { type: 'ecdsa', curve: 'P-256' },
      rootsPem: [ca.root.cert.toString('pem')],
      secret: () => {
        throw new Error('local-files reads no secret');
      },
      verifyTimeoutMs: 3000,
      audit: (received) => seen.push(received),
      order: async (csrPem) => {
        seen.push(csrPem);
        const csr = new x509.Pkcs10CertificateRequest(csrPem);
        const issued = await ca.issue(['files.sfo1.example.com'], {
          publicKey: await csr.publicKey.export(),
        });
        return {
          chain_pem: issued.pem,
          serial: issued.leaf.serialNumber.toLowerCase(),
          not_before: issued.leaf.notBefore.toISOString(),
          not_after: issued.leaf.notAfter.toISOString(),
          issuer: issued.leaf.issuer,
          sha256_fingerprint: 'unused',
          timings: { dns_ms: 0, propagation_ms: 0, validation_ms: 0, total_ms: 0 },
        };
      },
    });
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    const served = (
      await fetchServedChain({ host: '127.0.0.1', port, servername: record.device!.common_name })
    )[0]!;
    expect(served.serialNumber.toLowerCase()).toBe(result.certificate!.serial);
    expect(served.serialNumber).not.toBe(before.serialNumber);
    expect(result.previous?.serial).toBe(before.serialNumber.toLowerCase());
    for (const text of seen) expect(text).not.toMatch(/PRIVATE KEY/);
    expect(readdirSync(deviceDir).sort()).toEqual(['live.crt', 'live.key']);
    expect(existsSync(join(deviceDir, 'live.key'))).toBe(true);
  });
});
