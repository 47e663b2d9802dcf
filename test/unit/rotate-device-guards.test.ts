import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import * as x509 from '@peculiar/x509';
import * as acme from 'acme-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ariCertificateId } from '../../src/acme/ari.ts';
import { IssuanceError } from '../../src/acme/errors.ts';
import type { IssuedCertificate } from '../../src/acme/issuance.ts';
import { isFailure } from '../../src/model/results.ts';
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

/** What a handshake gets: the certificate before, the new one, a third one (neither), or no handshake at all. */
type Which = 'old' | 'new' | 'other' | 'none';

interface Behaviour {
  /** What the n-th handshake after activation serves (0-based); default: the new certificate. */
  afterActivate?(n: number): Which;
  /** What the n-th handshake after rollback serves; default: the old certificate. */
  afterRollback?(n: number): Which;
  /** Serve the new leaf without its intermediate. */
  dropIntermediate?: boolean;
  /** rollback() throws this. */
  rollbackThrows?: string;
  /** The named driver call throws this message. */
  throws?: Partial<
    Record<'connect' | 'precheck' | 'generateCsr' | 'install' | 'activate' | 'cleanup', string>
  >;
  /** The CSR asks for this name too (one the inventory does not list). */
  csrExtraName?: string;
  /** The CSR leaves the device's last name out. */
  csrDropLast?: boolean;
  /** Before activation no handshake succeeds (a device serving nothing yet). */
  nothingBefore?: boolean;
}

class FakeDevice {
  private server: Server | undefined;
  port = 0;
  readonly names: string[];
  private old!: { keyPem: string; chainPem: string };
  private other!: { keyPem: string; chainPem: string };
  otherSerial = '';
  /** The first certificate the device served (its key and chain), for ARI identifiers. */
  oldChainPem = '';
  private fresh: { keyPem: string; chainPem: string } | undefined;
  private readonly pendingKeys = new Map<string, string>();
  private state: 'before' | 'activated' | 'rolledBack' = 'before';
  private sinceSwitch = 0;
  /** The serial each handshake served, in order, with the state the device was in. */
  readonly served: { state: string; serial: string }[] = [];
  oldSerial = '';
  /** Every driver call, in order. */
  readonly calls: string[] = [];
  /** What connect() was given. */
  connectedWith: Parameters<PlatformDriver['connect']>[0] | undefined;

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
    this.oldChainPem = issued.pem;
    const other = await ca.issue(this.names);
    this.other = { keyPem: other.keyPem!, chainPem: other.pem };
    this.otherSerial = serialOf(other.pem);
    // No default credential: a chain set on the server itself would be sent along with any SNI context's leaf.
    this.server = createServer({
      SNICallback: (_name, cb) => {
        if (this.state === 'before' && this.behaviour.nothingBefore) cb(new Error('nothing served yet'));
        else {
          const context = this.pick();
          if (context) cb(null, context);
          else cb(new Error('nothing served'));
        }
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private pick(): SecureContext | undefined {
    const n = this.sinceSwitch++;
    let which: Which = 'old';
    if (this.state === 'activated') which = this.behaviour.afterActivate?.(n) ?? 'new';
    if (this.state === 'rolledBack') which = this.behaviour.afterRollback?.(n) ?? 'old';
    if (which === 'none') {
      this.served.push({ state: this.state, serial: '' });
      return undefined;
    }
    const credential = which === 'new' ? this.fresh! : which === 'other' ? this.other : this.old;
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

  private call(name: keyof NonNullable<Behaviour['throws']> | 'rollback' | 'discard' | 'close') {
    this.calls.push(name);
    const message = this.behaviour.throws?.[name as keyof NonNullable<Behaviour['throws']>];
    if (message) throw new Error(message);
  }

  driver(): PlatformDriver {
    const device = this;
    return {
      name: 'fake',
      async connect(context) {
        device.connectedWith = context;
        device.call('connect');
        context.log('connected to the fake device');
        const session: DriverSession = {
          async precheck() {
            device.call('precheck');
          },
          async generateCsr(request: CsrRequest) {
            device.call('generateCsr');
            const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
            const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
            device.pendingKeys.set(request.rotationId, keyPem);
            const [, csr] = await acme.crypto.createCsr(
              {
                commonName: request.names[0]!,
                altNames: [
                  ...(device.behaviour.csrDropLast ? request.names.slice(0, -1) : request.names),
                  ...(device.behaviour.csrExtraName ? [device.behaviour.csrExtraName] : []),
                ],
              },
              keyPem,
            );
            return csr.toString();
          },
          async install(chainPem: string, request: CsrRequest) {
            device.call('install');
            device.fresh = { keyPem: device.pendingKeys.get(request.rotationId)!, chainPem };
            return { rotationId: request.rotationId };
          },
          async activate() {
            device.call('activate');
            device.state = 'activated';
            device.sinceSwitch = 0;
          },
          async rollback() {
            device.calls.push('rollback');
            if (device.behaviour.rollbackThrows) throw new Error(device.behaviour.rollbackThrows);
            device.state = 'rolledBack';
            device.sinceSwitch = 0;
          },
          async cleanup() {
            device.call('cleanup');
          },
          async discard(request: CsrRequest) {
            device.call('discard');
            device.pendingKeys.delete(request.rotationId);
          },
          tlsEndpoint: () => ({ host: '127.0.0.1', port: device.port, servername: device.names[0]! }),
          async close() {
            device.call('close');
          },
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
    rollbackTimeoutMs: 3000,
    order: async (csrPem) => {
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
      `the device serves serial ${sim.oldSerial}, not the issued ${issuedSerial()}; the served certificate does not carry the key from the device's CSR`,
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
    // Two handshakes still see the new certificate, then three in a row the old one: restored, no more asked.
    expect(sim.served.filter((x) => x.state === 'rolledBack').map((x) => x.serial === sim.oldSerial)).toEqual(
      [false, false, true, true, true],
    );
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

describe('rotateDevice rollback without a previous certificate', () => {
  it('a rollback that leaves the new certificate served is not restored, even with nothing to go back to', async () => {
    const { device, options, issuedSerial } = await setup({
      nothingBefore: true,
      dropIntermediate: true,
      afterRollback: () => 'new',
    });
    const result = await rotateDevice(device, route, options);
    expect(result.previous).toBeUndefined();
    expect(result.status).toBe('failed');
    expect(result.rollback).toEqual({
      restored: false,
      message: `after rollback the device serves ${issuedSerial()}, not its previous certificate`,
    });
  }, 60_000);

  it('a rollback that serves another certificate than the new one is restored', async () => {
    const { device, sim, options } = await setup({ nothingBefore: true, dropIntermediate: true });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('rolled_back');
    expect(result.rollback).toEqual({
      restored: true,
      message: `the device serves ${sim.oldSerial}, not the new certificate (none was served before)`,
    });
  });
});

describe('rotateDevice phases: each failure is classed, nothing is ordered after a refusal, sessions close', () => {
  it('records what the device served before, the phases in order, and the new certificate', async () => {
    const { device, sim, options, issuedSerial } = await setup();
    const previous: unknown[] = [];
    const issue = options.order;
    const at = new Date('2026-12-02T10:00:00Z');
    const result = await rotateDevice(device, route, {
      ...options,
      now: () => at,
      runUrl: 'https://github.example/run/1',
      order: async (csr, d, prev) => {
        previous.push(prev);
        const issued = await issue(csr, d, prev);
        return {
          ...issued,
          warnings: ['a TXT value was left behind'],
          renewal_window: { start: 'a', end: 'b' },
        };
      },
    });
    expect(result.status).toBe('rotated');
    expect(result.run_url).toBe('https://github.example/run/1');
    expect(result.dry_run).toBeUndefined();
    expect(previous).toEqual([expect.objectContaining({ serial: sim.oldSerial })]);
    expect(result.previous?.serial).toBe(sim.oldSerial);
    expect(result.previous?.not_after).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(result.phases.map((p) => p.name)).toEqual([
      'precheck',
      'csr',
      'order',
      'install',
      'verify',
      'cleanup',
    ]);
    for (const phase of result.phases) expect(phase.ms).toBeGreaterThanOrEqual(0);
    expect(result.certificate).toMatchObject({
      serial: issuedSerial(),
      rotated_at: '2026-12-02T10:00:00.000Z',
      renewal_window: { start: 'a', end: 'b' },
    });
    expect(result.certificate?.pem).toContain('BEGIN CERTIFICATE');
    expect(result.warnings).toEqual(['a TXT value was left behind']);
    expect(sim.calls).toEqual([
      'connect',
      'precheck',
      'generateCsr',
      'install',
      'activate',
      'cleanup',
      'close',
    ]);
  });

  it('hands the driver its secrets, masking, audit, management roots and an abort signal that follows the caller', async () => {
    const { device, sim, options } = await setup({ throws: { precheck: 'stop here' } });
    const caller = new AbortController();
    const masked: string[] = [];
    const audited: string[] = [];
    await rotateDevice(device, route, {
      ...options,
      secret: (name) => `value-of-${name}`,
      mask: (v) => masked.push(v),
      audit: (r) => audited.push(r),
      managementRootsPem: ['ROOT-PEM'],
      signal: caller.signal,
    });
    const context = sim.connectedWith!;
    expect(context.device).toBe(device);
    expect(context.route).toBe(route);
    expect(context.secret('X')).toBe('value-of-X');
    expect(context.trustedRoots).toEqual(['ROOT-PEM']);
    context.mask?.('token');
    context.audit?.('received');
    expect(masked).toEqual(['token']);
    expect(audited).toEqual(['received']);
    expect(context.signal.aborted).toBe(false);
    caller.abort(new Error('cancelled'));
    expect(context.signal.aborted).toBe(true);
    expect(context.signal.reason).toEqual(new Error('cancelled'));
  });

  it('without management roots the driver gets none (never the public bundle)', async () => {
    const { device, sim, options } = await setup({ throws: { precheck: 'stop here' } });
    await rotateDevice(device, route, options);
    expect(sim.connectedWith!.trustedRoots).toEqual([]);
    expect(sim.connectedWith!.mask).toBeUndefined();
    expect(sim.connectedWith!.audit).toBeUndefined();
  });

  it('an unreachable device fails at precheck as device_unreachable, ordering nothing', async () => {
    const { device, sim, options } = await setup({ throws: { connect: 'ECONNREFUSED' } });
    let orders = 0;
    const result = await rotateDevice(device, route, {
      ...options,
      order: async () => {
        orders++;
        throw new Error('no');
      },
    });
    expect(result).toEqual({
      schema: 'ottr.result/v1',
      system_name: device.system_name,
      status: 'failed',
      phases: [{ name: 'precheck', ms: expect.any(Number) }],
      error: { phase: 'precheck', class: 'device_unreachable', message: 'ECONNREFUSED' },
    });
    expect(orders).toBe(0);
    expect(sim.calls).toEqual(['connect']);
  });

  it('a failed precheck is precheck_failed, and its session is closed', async () => {
    const { device, sim, options } = await setup({ throws: { precheck: 'disk full' } });
    const result = await rotateDevice(device, route, options);
    expect(result.error).toEqual({ phase: 'precheck', class: 'precheck_failed', message: 'disk full' });
    expect(sim.calls).toEqual(['connect', 'precheck', 'close']);
  });

  it('a device that cannot make a key is device_error, ordering nothing', async () => {
    const { device, sim, options } = await setup({ throws: { generateCsr: 'openssl: not found' } });
    const result = await rotateDevice(device, route, options);
    expect(result.error).toEqual({
      phase: 'csr',
      class: 'device_error',
      message: 'the device could not make a key and CSR: openssl: not found',
    });
    expect(result.phases.map((p) => p.name)).toEqual(['precheck', 'csr']);
    expect(sim.calls).toEqual(['connect', 'precheck', 'generateCsr', 'close']);
  });

  it('a CSR asking for a name the inventory does not list is csr_rejected; the device drops the key', async () => {
    const { device, sim, options } = await setup({ csrExtraName: 'evil.example.org' });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({
      phase: 'csr',
      class: 'csr_rejected',
      message: 'the CSR asks for names the inventory does not list: evil.example.org',
    });
    expect(sim.calls).toEqual(['connect', 'precheck', 'generateCsr', 'discard', 'close']);
  });

  it('dry run stops after the CSR check: skipped, nothing ordered, the key dropped', async () => {
    const { device, sim, options } = await setup();
    let orders = 0;
    const result = await rotateDevice(device, route, {
      ...options,
      dryRun: true,
      order: async () => {
        orders++;
        throw new Error('no');
      },
    });
    expect(result.status).toBe('skipped');
    expect(result.dry_run).toBe(true);
    expect(result.error).toBeUndefined();
    expect(result.previous?.serial).toBe(sim.oldSerial);
    expect(orders).toBe(0);
    expect(sim.calls).toEqual(['connect', 'precheck', 'generateCsr', 'discard', 'close']);
  });

  it('an issuance error keeps its class and warnings; the device drops the unused key', async () => {
    const { device, sim, options } = await setup();
    const result = await rotateDevice(device, route, {
      ...options,
      order: async () => {
        const error = new IssuanceError('ca_rate_limited', 'too many certificates');
        error.warnings.push('the TXT record could not be removed');
        throw error;
      },
    });
    expect(result.error).toEqual({
      phase: 'order',
      class: 'ca_rate_limited',
      message: 'too many certificates',
    });
    expect(result.warnings).toEqual(['the TXT record could not be removed']);
    expect(result.rollback).toBeUndefined();
    expect(sim.calls).toEqual(['connect', 'precheck', 'generateCsr', 'discard', 'close']);
  });

  it('an unexpected error is internal', async () => {
    const { device, options } = await setup();
    const result = await rotateDevice(device, route, {
      ...options,
      order: async () => {
        throw new TypeError('x is undefined');
      },
    });
    expect(result.error).toEqual({ phase: 'order', class: 'internal', message: 'x is undefined' });
  });

  it('a failed install is install_failed: nothing to roll back, the key dropped, the old certificate still served', async () => {
    const { device, sim, options } = await setup({ throws: { install: 'no space left' } });
    const result = await rotateDevice(device, route, options);
    expect(result.error).toEqual({ phase: 'install', class: 'install_failed', message: 'no space left' });
    expect(result.rollback).toBeUndefined();
    expect(sim.calls).toEqual(['connect', 'precheck', 'generateCsr', 'install', 'discard', 'close']);
    expect(await sim.servedSerial()).toBe(sim.oldSerial);
  });

  it('a failed activation is activate_failed and is rolled back', async () => {
    const { device, sim, options } = await setup({ throws: { activate: 'reload failed' } });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('rolled_back');
    expect(result.error).toEqual({ phase: 'install', class: 'activate_failed', message: 'reload failed' });
    expect(result.rollback?.restored).toBe(true);
    expect(sim.calls).toEqual([
      'connect',
      'precheck',
      'generateCsr',
      'install',
      'activate',
      'rollback',
      'close',
    ]);
  });

  it('a cleanup failure after a good rotation is a warning, not a failure', async () => {
    const { device, sim, options, issuedSerial } = await setup({ throws: { cleanup: 'old object in use' } });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('rotated');
    expect(result.error).toBeUndefined();
    expect(result.warnings).toEqual([
      'the previous certificate could not be removed from the device: old object in use',
    ]);
    expect(await sim.servedSerial()).toBe(issuedSerial());
  });

  it('verification that never succeeds fails at the deadline with the last problem', async () => {
    const { device, options } = await setup({ afterActivate: () => 'old' });
    const started = Date.now();
    const result = await rotateDevice(device, route, { ...options, verifyTimeoutMs: 600 });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.phases.find((p) => p.name === 'verify')!.ms).toBeGreaterThanOrEqual(600);
  });
});

describe('rotateDevice rollback: the previous certificate, three times in a row, is the only proof', () => {
  it('a rollback after which the device serves the old certificate once and then the new one is not restored', async () => {
    const { device, sim, options, issuedSerial } = await setup({
      dropIntermediate: true,
      afterRollback: (n) => (n === 0 ? 'old' : 'new'),
    });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('failed');
    expect(result.rollback).toEqual({
      restored: false,
      message: `after rollback the device serves ${issuedSerial()}, not ${sim.oldSerial}`,
    });
  }, 60_000);

  it('a rollback after which the device serves a third certificate is not restored', async () => {
    const { device, sim, options } = await setup({ dropIntermediate: true, afterRollback: () => 'other' });
    const result = await rotateDevice(device, route, options);
    expect(result.rollback).toEqual({
      restored: false,
      message: `after rollback the device serves ${sim.otherSerial}, not ${sim.oldSerial}`,
    });
  }, 60_000);

  it('a rollback after which the device serves nothing is not restored', async () => {
    const { device, sim, options } = await setup({ dropIntermediate: true, afterRollback: () => 'none' });
    const result = await rotateDevice(device, route, options);
    expect(result.rollback).toEqual({
      restored: false,
      message: `after rollback the device serves nothing, not ${sim.oldSerial}`,
    });
  }, 60_000);

  it('with nothing served before, a rollback that leaves nothing served is not restored either', async () => {
    const { device, options } = await setup({
      nothingBefore: true,
      dropIntermediate: true,
      afterRollback: () => 'none',
    });
    const result = await rotateDevice(device, route, options);
    expect(result.rollback).toEqual({
      restored: false,
      message: 'after rollback the device serves nothing, not its previous certificate',
    });
  }, 60_000);
});

describe('rotateDevice verification reads what the device serves, handshake by handshake', () => {
  it('a device that stops answering TLS after activation fails verification with the connection error', async () => {
    const { device, options } = await setup({ afterActivate: () => 'none' });
    const result = await rotateDevice(device, route, options);
    expect(result.status).toBe('rolled_back');
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.error!.message).toMatch(/^TLS to 127\.0\.0\.1:\d+ failed: /);
  });

  it('the issuer organisation is checked when the authority lists expected issuers', async () => {
    const refused = await setup();
    const result = await rotateDevice(refused.device, route, {
      ...refused.options,
      expectedIssuers: ['Nobody Inc'],
    });
    expect(result.error).toMatchObject({ phase: 'verify', class: 'verify_failed' });
    expect(result.error!.message).toContain("the issuer organisation Let's Encrypt is not one of Nobody Inc");
    const accepted = await setup();
    const ok = await rotateDevice(accepted.device, route, {
      ...accepted.options,
      expectedIssuers: ["Let's Encrypt"],
    });
    expect(ok.status).toBe('rotated');
  });
});

describe('rotateDevice records and reports', () => {
  it('names the rotation after the clock and hands the issuer the previous serial and ARI identifier', async () => {
    const { device, sim, options } = await setup();
    const requests: CsrRequest[] = [];
    const previous: unknown[] = [];
    const driver = options.driver;
    const result = await rotateDevice(device, route, {
      ...options,
      now: () => new Date('2026-12-02T10:11:12.345Z'),
      driver: {
        ...driver,
        async connect(context) {
          const session = await driver.connect(context);
          return {
            ...session,
            generateCsr: (request) => {
              requests.push(request);
              return session.generateCsr(request);
            },
          };
        },
      },
      order: async (csr, d, prev) => {
        previous.push(prev);
        return options.order(csr, d, prev);
      },
    });
    expect(result.status).toBe('rotated');
    expect(requests[0]!.rotationId).toMatch(/^ottr-20261202101112-[0-9a-f]{6}$/);
    expect(requests[0]!.names).toEqual([device.common_name, ...device.subject_alternative_names!]);
    expect(previous).toEqual([
      { serial: sim.oldSerial, ari_id: ariCertificateId(pemCertificates(sim.oldChainPem)[0]!) },
    ]);
  });

  it('logs each phase as it starts, and what the driver says under the phase it says it in', async () => {
    const { device, options } = await setup();
    const lines: string[] = [];
    await rotateDevice(device, route, {
      ...options,
      log: (phase, message) => lines.push(`${phase}: ${message}`),
    });
    expect(lines).toEqual([
      'precheck: started',
      'precheck: connected to the fake device',
      'csr: started',
      'order: started',
      'install: started',
      'verify: started',
      'cleanup: started',
    ]);
  });

  it('phase times are durations, not clock readings', async () => {
    const { device, options } = await setup();
    const result = await rotateDevice(device, route, options);
    for (const phase of result.phases) expect(phase.ms).toBeLessThan(60_000);
  });

  it('a result carries no run URL, dry-run flag or warnings it was not given', async () => {
    const { device, options } = await setup({ throws: { connect: 'down' } });
    const result = await rotateDevice(device, route, options);
    expect(Object.keys(result).sort()).toEqual(['error', 'phases', 'schema', 'status', 'system_name']);
    const issuance = await setup();
    const refused = await rotateDevice(issuance.device, route, {
      ...issuance.options,
      order: async () => {
        throw new IssuanceError('ca_rejected', 'no');
      },
    });
    expect('warnings' in refused).toBe(false);
  });

  it('every problem of a refused CSR is in the message', async () => {
    const { device, options } = await setup({ csrExtraName: 'evil.example.org', csrDropLast: true });
    const result = await rotateDevice(device, route, options);
    expect(result.error?.message).toBe(
      `the CSR lacks ${device.subject_alternative_names![0]}; the CSR asks for names the inventory does not list: evil.example.org`,
    );
  });
  it('isFailure counts failed and rolled-back results, not rotated or skipped ones', async () => {
    const outcomes = await Promise.all(
      [{}, { throws: { install: 'full' } }, { throws: { activate: 'reload failed' } }].map(
        async (behaviour) => {
          const { device, options } = await setup(behaviour);
          return rotateDevice(device, route, options);
        },
      ),
    );
    const dry = await setup();
    outcomes.push(await rotateDevice(dry.device, route, { ...dry.options, dryRun: true }));
    expect(outcomes.map((r) => [r.status, isFailure(r)])).toEqual([
      ['rotated', false],
      ['failed', true],
      ['rolled_back', true],
      ['skipped', false],
    ]);
  });
});
