import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:tls';
import * as x509 from '@peculiar/x509';
import * as acme from 'acme-client';
import type {
  CsrRequest,
  DriverSession,
  InstallReceipt,
  PlatformDriver,
} from '../../../src/platforms/contract.ts';

export type DeviceFault = 'unreachable' | 'activateFails' | 'keepsServingOld' | 'csrWithForeignName';

interface Credential {
  keyPem: string;
  chainPem: string;
}

async function selfSigned(names: string[]): Promise<Credential> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01a2b3c4',
    name: `CN=${names[0]}`,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 10 * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return {
    keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`,
    chainPem: cert.toString('pem'),
  };
}

/**
 * A simulated TLS device for pipeline tests: it makes its keys itself (they never leave it), serves TLS on
 * loopback with its active credential, switches only on activate, and can be told to misbehave. Everything
 * the runner sends it is recorded, so tests can prove no private key crossed over.
 */
export class TlsDevice {
  private server: Server | undefined;
  port = 0;
  active: Credential | undefined;
  private previous: Credential | undefined;
  private readonly pendingKeys = new Map<string, string>();
  private readonly installed = new Map<string, Credential>();
  readonly received: string[] = [];
  readonly faults = new Set<DeviceFault>();

  constructor(readonly names: string[]) {}

  async start(): Promise<void> {
    this.active = await selfSigned(this.names);
    this.server = createServer({ key: this.active.keyPem, cert: this.active.chainPem });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(credential: Credential): void {
    this.active = credential;
    this.server!.setSecureContext({ key: credential.keyPem, cert: credential.chainPem });
  }

  driver(): PlatformDriver {
    const device = this;
    return {
      name: 'lab-tls',
      async connect() {
        if (device.faults.has('unreachable'))
          throw new Error(`connect ECONNREFUSED 127.0.0.1:${device.port}`);
        const session: DriverSession = {
          async precheck() {},
          async generateCsr(request: CsrRequest) {
            device.received.push(JSON.stringify(request));
            const { privateKey } = generateKeyPairSync('ec', { namedCurve: request.key.curve ?? 'P-256' });
            const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
            device.pendingKeys.set(request.rotationId, keyPem);
            const names = device.faults.has('csrWithForeignName')
              ? [...request.names, 'intruder.example.org']
              : request.names;
            const [, csr] = await acme.crypto.createCsr({ commonName: names[0]!, altNames: names }, keyPem);
            return csr.toString();
          },
          async install(chainPem: string, request: CsrRequest): Promise<InstallReceipt> {
            device.received.push(chainPem);
            const keyPem = device.pendingKeys.get(request.rotationId);
            if (!keyPem) throw new Error('no key for this rotation on the device');
            device.installed.set(request.rotationId, { keyPem, chainPem });
            return { rotationId: request.rotationId };
          },
          async activate(receipt: InstallReceipt) {
            if (device.faults.has('activateFails'))
              throw new Error('reload failed: nginx: [emerg] cannot load certificate');
            device.previous = device.active;
            if (device.faults.has('keepsServingOld')) return;
            device.serve(device.installed.get(String(receipt.rotationId))!);
          },
          async rollback() {
            if (device.previous) device.serve(device.previous);
          },
          async cleanup() {
            device.previous = undefined;
          },
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

  get pendingKeyCount(): number {
    return this.pendingKeys.size;
  }
}
