import type { ServerResponse } from 'node:http';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import type { CsrRequest, DriverSession, InstallReceipt } from '../../src/platforms/contract.ts';
import { panosDriver } from '../../src/platforms/panos/driver.ts';
import { panos } from '../../src/platforms/panos/index.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { TestCa } from '../helpers/test-ca.ts';
import { PanosSimulator, type PanosSimulatorOptions } from '../lab/panos/simulator.ts';
import { servedSpkiPin } from '../lab/pin.ts';

/**
 * Issue 14, findings 6–10: the PAN-OS driver against the behaviours of real firewalls that the simulator now
 * reproduces, each traced to its public source in test/lab/panos/BEHAVIOUR.md. Every test here failed on the
 * driver before the fix.
 */

const USERS = { admin: 'correct horse battery staple' };
const NAME = 'fw-vendor.example.com';

let ca: TestCa;
beforeAll(async () => {
  ca = await TestCa.create();
});
const sims: PanosSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

interface Setup {
  simulator?: PanosSimulatorOptions;
  credential?: (sim: PanosSimulator) => string;
  connection?: Record<string, unknown>;
  routeOptions?: Record<string, unknown>;
}

async function connect(setup: Setup = {}) {
  const sim = new PanosSimulator(NAME, USERS, setup.simulator);
  await sim.start();
  sims.push(sim);
  const pin = await servedSpkiPin({ host: '127.0.0.1', port: sim.port, servername: NAME });
  const device: Device = {
    system_name: 'fw-vendor',
    common_name: NAME,
    host_platform: 'panos',
    os_version: sim.swVersion,
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    certificate_validation: false,
    connection: { port: sim.port, credentials: 'PANOS_LAB', tls_spki_sha256: pin, ...setup.connection },
  };
  const route: Route = {
    name: 'panos',
    match: { host_platform: 'panos' },
    platform: 'panos',
    options: { ssl_tls_profile: 'ottr-mgmt', ...setup.routeOptions },
  };
  const session = await panosDriver.connect({
    device,
    route,
    options: panos.options.parse(route.options),
    secret: () => setup.credential?.(sim) ?? `admin:${USERS.admin}`,
    log: () => {},
    signal: new AbortController().signal,
    trustedRoots: [],
  });
  return { sim, session };
}

const request = (rotationId = 'ottr-20261202-v1'): CsrRequest => ({
  names: [NAME],
  key: { type: 'ecdsa', curve: 'P-256' },
  rotationId,
});

async function install(session: DriverSession, req = request()): Promise<InstallReceipt> {
  await session.precheck();
  const csr = new x509.Pkcs10CertificateRequest(await session.generateCsr(req));
  const chain = (await ca.issue(req.names, { publicKey: await csr.publicKey.export() })).pem;
  return session.install(chain, req);
}

const servedSerial = async (sim: PanosSimulator) =>
  (
    await fetchServedChain({ host: '127.0.0.1', port: sim.port, servername: NAME })
  )[0]!.serialNumber.toLowerCase();

const builtInSerial = (sim: PanosSimulator) =>
  new x509.X509Certificate(sim.builtInCertificate().chainPem!).serialNumber.toLowerCase();

describe('finding 6: other admins’ pending changes, locks and commits in progress', () => {
  it('commits only the API admin’s changes: another admin’s invalid change neither fails nor rides along', async () => {
    const { sim, session } = await connect();
    sim.pendingEdit({ admin: 'alice', invalid: 'Validation Error: address-1 is not a valid IP' });
    const receipt = await install(session);
    await session.activate(receipt);
    expect(sim.servedCertificateName()).toBe('ottr-20261202-v1');
    expect(sim.pendingChanges()).toEqual(['alice address:address-1']);
  });

  it('refuses before changing anything when others’ changes are pending and the API admin is unknown', async () => {
    const { sim, session } = await connect({
      simulator: { swVersion: '9.1.16' }, // show admins marks no entry as the caller's before 10.0
      credential: (sim) => sim.apiKey,
    });
    sim.pendingEdit({ admin: 'alice' });
    await expect(session.precheck()).rejects.toThrow(
      /PAN-OS has uncommitted changes and the admin of the credential PANOS_LAB is unknown.*connection\.username/,
    );
    expect(sim.configLog.filter((l) => !l.startsWith('get '))).toEqual([]);
  });

  it('refuses when another admin has uncommitted changes to the nodes the rotation changes', async () => {
    const { sim, session } = await connect();
    sim.pendingEdit({ admin: 'alice', profile: 'ottr-mgmt', certificate: 'their-cert' });
    await expect(session.precheck()).rejects.toThrow(
      /admin alice has uncommitted changes to the certificate of SSL\/TLS service profile ottr-mgmt \(their-cert, since \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\)/,
    );
  });

  it('waits for another admin’s config lock, commit lock and commit, each within lock_timeout', async () => {
    const { sim, session } = await connect({ routeOptions: { lock_timeout: '5s' } });
    const receipt = await install(session);
    sim.holdLock('config', 'alice', 400);
    sim.holdLock('commit', 'bob', 800);
    sim.otherCommitRunning('carol', 1200);
    await session.activate(receipt);
    expect(sim.servedCertificateName()).toBe('ottr-20261202-v1');
  });

  it('a lock held past lock_timeout fails the step naming its holder, with nothing changed', async () => {
    const { sim, session } = await connect({ routeOptions: { lock_timeout: '1s' } });
    const receipt = await install(session);
    sim.holdLock('config', 'alice', 60_000);
    await expect(session.activate(receipt)).rejects.toThrow(/config lock held by alice/);
    expect(sim.configLog.filter((l) => l.startsWith('set '))).toEqual([]);
    expect(sim.servedCertificateName()).toBeUndefined();
  });
});

describe('finding 7: the management web server restarts during the commit', () => {
  it('the commit wait survives the dropped connections and finds the job finished', async () => {
    const { sim, session } = await connect({ simulator: { restartMs: 800 } });
    const receipt = await install(session);
    await session.activate(receipt);
    expect(sim.restarts).toBe(1);
    expect(sim.servedCertificateName()).toBe('ottr-20261202-v1');
  });
});

describe('finding 8: admin/dirtyId/time attributes on changed candidate nodes', () => {
  it('reads a changed node’s text, not "[object Object]", and says who changed it', async () => {
    const { sim, session } = await connect({ simulator: { adminProfile: true } });
    sim.pendingEdit({ admin: 'admin', profile: 'ottr-mgmt', certificate: 'web-ui-cert' });
    // Before the fix: no refusal, and the receipt's previous certificate was "[object Object]".
    const said = await install(session).then(
      (receipt) => JSON.stringify(receipt.previous),
      (e: Error) => e.message,
    );
    expect(said).not.toContain('[object Object]');
    expect(said).toMatch(
      /the credential’s own admin has uncommitted changes to the certificate of SSL\/TLS service profile ottr-mgmt \(web-ui-cert, since /,
    );
  });
});

describe('finding 9: a failed commit, and the rollback of a first rotation', () => {
  it('a failed commit leaves none of the rotation’s changes in the candidate for the next admin’s commit', async () => {
    const { sim, session } = await connect();
    sim.pendingEdit({ admin: 'alice' });
    const receipt = await install(session);
    sim.faults.add('commitFail');
    await expect(session.activate(receipt)).rejects.toThrow(
      /commit \d+ \(activate\) failed: Validation Error/,
    );
    expect(sim.pendingChanges()).toEqual(['alice address:address-1']);
  });

  it('rolls a first rotation back to the built-in certificate by removing the binding it added', async () => {
    const { sim, session } = await connect({ simulator: { restartMs: 0 } });
    const builtIn = builtInSerial(sim);
    expect(await servedSerial(sim)).toBe(builtIn);
    const receipt = await install(session);
    expect(receipt.previous).toEqual({});
    await session.activate(receipt);
    expect(await servedSerial(sim)).not.toBe(builtIn);
    await session.rollback(receipt);
    expect(sim.configLog).toContain(
      "delete /config/devices/entry[@name='localhost.localdomain']/deviceconfig/system/ssl-tls-service-profile",
    );
    expect(sim.servedCertificateName()).toBeUndefined();
    expect(await servedSerial(sim)).toBe(builtIn);
  });
});

describe('finding 10: errors as HTTP 400/403 with an XML body', () => {
  it('a refused API key (HTTP 403) says what the firewall said and names the credential', async () => {
    const { session } = await connect({ credential: () => `LUFRPT${'r3v0k3d'.repeat(6)}` });
    await expect(session.precheck()).rejects.toThrow(
      new Error('PAN-OS op with the credential PANOS_LAB: Invalid Credential (code 403)'),
    );
  });

  it('a refused keygen (HTTP 403) says what the firewall said', async () => {
    await expect(connect({ credential: () => 'admin:wrong' })).rejects.toThrow(
      new Error('PAN-OS keygen refused the credential PANOS_LAB: Invalid Credential'),
    );
  });

  it('a bad request (HTTP 400) says the firewall’s message', async () => {
    const { sim, session } = await connect();
    const target = sim as unknown as { exportCsr(res: ServerResponse, p: URLSearchParams): void };
    const exportCsr = target.exportCsr.bind(sim);
    target.exportCsr = (res, p) => {
      p.delete('format');
      exportCsr(res, p);
    };
    await session.precheck();
    await expect(session.generateCsr(request())).rejects.toThrow(
      new Error(
        'PAN-OS export: export supports category=certificate, format=pkcs10, include-key=no (code 400)',
      ),
    );
  });
});
