import { webcrypto } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import * as x509 from '@peculiar/x509';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import { panosDriver } from '../../src/platforms/panos/driver.ts';
import { panos } from '../../src/platforms/panos/index.ts';
import { PanosSimulator } from '../lab/panos/simulator.ts';
import { servedSpkiPin } from '../lab/pin.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * Every value the PAN-OS driver puts into an XML command is escaped: a name with XML's special characters
 * reaches the firewall as that exact text, and cannot close its element and open another.
 */
const sims: PanosSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

const USERS = { admin: 'correct horse battery staple' };
const HOSTILE = [
  `fw</name><name>evil.example.org`,
  `a<b>c&d'e"f.example.com`,
  `x</member><member>evil.example.org</member><member>y`,
  `&lt;already-escaped&amp;.example.com`,
  `]]><member>cdata.example.org`,
];

async function connect() {
  const name = 'fw-xml.example.com';
  const sim = new PanosSimulator(name, USERS);
  await sim.start();
  sims.push(sim);
  // What the firewall receives as op commands, before it parses them.
  const ops: string[] = [];
  const target = sim as unknown as { op(res: ServerResponse, cmd: string): void };
  const op = target.op.bind(sim);
  target.op = (res, cmd) => {
    ops.push(cmd);
    op(res, cmd);
  };
  const pin = await servedSpkiPin({ host: '127.0.0.1', port: sim.port, servername: name });
  const device: Device = {
    system_name: 'fw-xml',
    common_name: name,
    host_platform: 'panos',
    os_version: '10.2.4',
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    certificate_validation: false,
    connection: { port: sim.port, credentials: 'PANOS_LAB', tls_spki_sha256: pin },
  };
  const route: Route = { name: 'panos', match: { host_platform: 'panos' }, platform: 'panos' };
  const session = await panosDriver.connect({
    device,
    route,
    options: panos.options.parse(route.options),
    secret: () => `admin:${USERS.admin}`,
    log: () => {},
    signal: new AbortController().signal,
    trustedRoots: [],
  });
  return { sim, session, ops };
}

describe('panos escapes every value it puts into XML', () => {
  it('names with < > & \' " reach the firewall exactly, without breaking out of their element', async () => {
    const { session, ops } = await connect();
    const names = [...HOSTILE];
    const pem = await session.generateCsr({ names, key: { type: 'ecdsa' }, rotationId: 'ottr-xml-1' });
    await session.close();

    const generate = ops.find((cmd) => cmd.includes('<generate>'));
    expect(generate).toBeDefined();
    // The special characters travel as entities only.
    const inner = generate!.replace(/<\/?[a-zA-Z-]+>/g, '');
    expect(inner).not.toMatch(/[<>'"]|&(?!(?:amp|lt|gt|apos|quot);)/);
    // Parsed as XML, the command holds exactly one CN and exactly these hostnames.
    const doc = new XMLParser({ parseTagValue: false, isArray: (n) => n === 'member' }).parse(generate!);
    const g = doc.request.certificate.generate;
    expect(g.name).toBe(names[0]);
    expect(g.hostname.member).toEqual(names);
    expect(g['certificate-name']).toBe('ottr-xml-1');

    // And the CSR the firewall made asks for those names, not for any name smuggled in.
    const csr = new x509.Pkcs10CertificateRequest(pem);
    const san = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension | null;
    expect(san?.names.items.map((n) => n.value)).toEqual(names);
  });
});
