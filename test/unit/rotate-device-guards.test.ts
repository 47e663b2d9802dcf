import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import * as x509 from '@peculiar/x509';
import * as acme from 'acme-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedCertificate } from '../../src/acme/issue.ts';
import type { Device, Route } from '../../src/model/types.ts';
import type { CsrRequest, DriverSession, PlatformDriver } from '../../src/platforms/contract.ts';
import { type RotateOptions, rotateDevice } from '../../src/rotate/rotate-device.ts';
import { pemCertificates } from '../../src/util/pem.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { TestCa } from '../helpers/test-ca.ts';

/**
 * The guards of rotateDevice's verify and rollback phases, against a fake driver whose device is a TLS server
 * on 127.0.0.1 choosing, handshake by handshake, which certificate it serves.
 */

const route: Route = { name: 'fake', match: { host_platform: 'linux' }, platform: 'fake' };
const KEY = { type: 'ecdsa', curve: 'P-256' } as const;
const serialOf = (pem: string) => new X509Certificate(pemCertificates(pem)[0]!).serialNumber.toLowerCase();

let ca: TestCa;
beforeAll(async () => {
  ca = await TestCa.create();
});

type Which = 'old' | 'new';

interface Behaviour {
  /** What the n-th handshake after activation serves (0-based); default: the new certificate. */
  afterActivate?(n: number): Which;
  /** What the n-th handshake after rollback serves; default: the old certificate. */
  afterRollback?(n: number): Which;
  /** Serve the new leaf without its intermediate. */
  dropIntermediate?: boolean;
  /** rollback() throws this. */
  rollbackThrows?: string;
}

class FakeDevice {
  private server: Server | undefined;
  port = 0;
  readonly names: string[];
  private old!: { keyPem: string; chainPem: string };
  private fresh: { keyPem: string; chainPem: string } | undefined;
  private readonly pendingKeys = new Map<string, string>();
  private state: 'before' | 'activated' | 'rolledBack' = 'before';
  private sinceSwitch = 0;
  /** The serial each handshake served, in order, with the state the device was in. */
  readonly served: { state: string; serial: string }[] = [];
  oldSerial = '';

  constructor(
    readonly device: Device,
    private readonly behaviour: Behaviour = {},
  ) {
    this.names = [device.common_name, ...(device.subject_alternative_names ?? [])];
  }

  async start(): Promise<void> {
    const issued = await ca.issue(this.names);
    this.old = { keyPem: issued.keyPem!, chainPem: issued.pem };
    this.oldSerial = serialOf(issued.pem);
    // No default credential: a chain set on the server itself would be sent along with any SNI context's leaf.
    this.server = createServer({ SNICallback: (_name, cb) => cb(null, this.pick()) });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private pick(): SecureContext {
    const n = this.sinceSwitch++;
    let which: Which = 'old';
    if (this.state === 'activated') which = this.behaviour.afterActivate?.(n) ?? 'new';
    if (this.state === 'rolledBack') which = this.behaviour.afterRollback?.(n) ?? 'old';
    const credential = which === 'new' ? this.fresh! : this.old;
    let chainPem = credential.chainPem;
    if (which === 'new' && this.behaviour.dropIntermediate) chainPem = pemCertificates(chainPem)[0]!;
    this.served.push({ state: this.state, serial: serialOf(chainPem) });
    return createSecureContext({ key: credential.keyPem, cert: chainPem });
  }

  /** The serial served now, by a handshake of the test's own (counted like any other). */
  async servedSerial(): Promise<string> {
    const chain = await fetchServedChain({ host: '127.0.0.1', port: this.port, servername: this.names[0]! });
    return chain[0]!.serialNumber.toLowerCase();
  }

  driver(): PlatformDriver {
    const device = this;
    return {
      name: 'fake',
      async connect() {
        const session: DriverSession = {
          async precheck() {},
          async generateCsr(request: CsrRequest) {
            const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
            const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
            device.pendingKeys.set(request.rotationId, keyPem);
            const [, csr] = await acme.crypto.createCsr(
              { commonName: request.names[0]!, altNames: request.names },
              keyPem,
            );
            return csr.toString();
          },
          async install(chainPem: string, request: CsrRequest) {
            device.fresh = { keyPem: device.pendingKeys.get(request.rotationId)!, chainPem };
            return { rotationId: request.rotationId };
          },
          async activate() {
            device.state = 'activated';
            device.sinceSwitch = 0;
          },
          async rollback() {
            if (device.behaviour.rollbackThrows) throw new Error(device.behaviour.rollbackThrows);
            device.state = 'rolledBack';
            device.sinceSwitch = 0;
          },
          async cleanup() {},
          async discard(request: CsrRequest) {
            device.pendingKeys.delete(request.rotationId);
          },
          tlsEndpoint: () => ({ host: '127.0.0.1', port: device.port, servername: device.names[0]! }),
          async close() {},
        };
        return session;
      },
    };
  }
}

/** Signs the CSR's key with the test CA, as the ACME order would. */
async function issueWithTestCa(csrPem: string): Promise<IssuedCertificate> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const san = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension | null;
  const names = san!.names.items.map((n) => n.value);
  const { pem } = await ca.issue(names, { publicKey: await csr.publicKey.export() });
  const leaf = new X509Certificate(pemCertificates(pem)[0]!);
  return {
    chain_pem: pem,
    serial: leaf.serialNumber.toLowerCase(),
    not_before: new Date(leaf.validFrom).toISOString(),
    not_after: new Date(leaf.validTo).toISOString(),
    issuer: leaf.issuer.replace(/\n/g, ','),
    sha256_fingerprint: leaf.fingerprint256,
    timings: { dns_ms: 0, propagation_ms: 0, validation_ms: 0, total_ms: 0 },
  };
}

const running: FakeDevice[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

let counter = 0;
async function setup(behaviour: Behaviour = {}) {
  const name = `guard${counter++}.example.com`;
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    subject_alternative_names: [`www.${name}`],
    host_platform: 'linux',
    os_version: '12',
    data_center: 'lab',
    certificate_authority: 'lab',
  };
  const sim = new FakeDevice(device, behaviour);
  await sim.start();
  running.push(sim);
  let issuedSerial: string | undefined;
  const options: RotateOptions = {
    driver: sim.driver(),
    key: KEY,
    rootsPem: [ca.rootPem],
    secret: () => 'unused',
    verifyTimeoutMs: 1500,
    issue: async (csrPem) => {
      const issued = await issueWithTestCa(csrPem);
      issuedSerial = issued.serial;
      return issued;
    },
  };
  return { device, sim, options, issuedSerial: () => issuedSerial! };
}

describe('rotateDevice verification: only three good handshakes in a row count', () => {
  it('rotates a well-behaved device (the fake is sound)', async () => {
    const { device, sim, options, issuedSerial } = await setup();
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    expect(result.previous?.serial).toBe(sim.oldSerial);
    expect(result.certificate?.serial).toBe(issuedSerial());
    expect(await sim.servedSerial()).toBe(issuedSerial());
  });

  it('a device that serves the new certificate once and then the old one fails verification', async () => {
    const { device, sim, options, issuedSerial } = await setup({
      afterActivate: (n) => (n === 0 ? 'new' : 'old'),
    });
    const result = await rotateDevice(device, route, options);
    const afterActivation = sim.served.filter((s) => s.state === 'activated').map((s) => s.serial);
    expect(afterActivation[0]).toBe(issuedSerial()); // verification did see the new certificate, once
    expect(afterActivation.slice(1)).not.toContain(issuedSerial());
    expect(result.status).toBe('rolled_back');
    expect(result.certificate).toBeUndefined();
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.error!.message).toContain(
      `the device serves serial ${sim.oldSerial}, not the issued ${issuedSerial()}`,
    );
    expect(result.rollback).toEqual({
      restored: true,
      message: `the previous certificate (serial ${sim.oldSerial}) is served again`,
    });
  });

  it('a device alternating between the new and the old certificate never verifies', async () => {
    const { device, sim, options, issuedSerial } = await setup({
      afterActivate: (n) => (n % 2 === 0 ? 'new' : 'old'),
    });
    const result = await rotateDevice(device, route, options);
    const afterActivation = sim.served.filter((s) => s.state === 'activated').map((s) => s.serial);
    expect(afterActivation.filter((s) => s === issuedSerial()).length).toBeGreaterThanOrEqual(3);
    expect(result.status).toBe('rolled_back');
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.rollback?.restored).toBe(true);
  });

  it('a device still serving the old certificate for a moment after its reload is rotated', async () => {
    const { device, sim, options, issuedSerial } = await setup({
      afterActivate: (n) => (n < 2 ? 'old' : 'new'),
    });
    const result = await rotateDevice(device, route, options);
    expect(result.status, JSON.stringify(result.error)).toBe('rotated');
    const afterActivation = sim.served.filter((s) => s.state === 'activated').map((s) => s.serial);
    expect(afterActivation).toEqual([
      sim.oldSerial,
      sim.oldSerial,
      issuedSerial(),
      issuedSerial(),
      issuedSerial(),
    ]);
  });
});

describe('rotateDevice rollback: restored only when the previous certificate is served again', () => {
  it('a rollback that leaves the new certificate served is reported as not restored', async () => {
    // The device drops the intermediate (verification fails) and its rollback changes nothing.
    const { device, sim, options, issuedSerial } = await setup({
      dropIntermediate: true,
      afterRollback: () => 'new',
    });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.error!.message).toMatch(/does not lead to a root of the authority/);
    expect(result.rollback).toEqual({
      restored: false,
      message: `after rollback the device serves ${issuedSerial()}, not ${sim.oldSerial}`,
    });
    expect(result.phases.map((p) => p.name)).toEqual([
      'precheck',
      'csr',
      'order',
      'install',
      'verify',
      'rollback',
    ]);
    expect(await sim.servedSerial()).toBe(issuedSerial());
  }, 60_000);

  it('a rollback that takes a moment to take effect is reported as restored', async () => {
    const { device, sim, options } = await setup({
      dropIntermediate: true,
      afterRollback: (n) => (n < 2 ? 'new' : 'old'),
    });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('rolled_back');
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.rollback).toEqual({
      restored: true,
      message: `the previous certificate (serial ${sim.oldSerial}) is served again`,
    });
    expect(await sim.servedSerial()).toBe(sim.oldSerial);
  });

  it('a rollback the driver cannot perform is reported as not restored', async () => {
    const { device, sim, options, issuedSerial } = await setup({
      dropIntermediate: true,
      rollbackThrows: 'the previous key is gone',
    });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.rollback).toEqual({
      restored: false,
      message: 'rollback failed: the previous key is gone',
    });
    expect(await sim.servedSerial()).toBe(issuedSerial());
  });
});
