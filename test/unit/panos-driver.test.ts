import type { IncomingMessage } from 'node:http';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Device, KeyPolicy, Route } from '../../src/model/types.ts';
import type { CsrRequest, DriverSession, InstallReceipt } from '../../src/platforms/contract.ts';
import { panosDriver } from '../../src/platforms/panos/driver.ts';
import { panos } from '../../src/platforms/panos/index.ts';
import { TestCa } from '../helpers/test-ca.ts';
import { PanosSimulator, type PanosSimulatorOptions } from '../lab/panos/simulator.ts';
import { servedSpkiPin } from '../lab/pin.ts';

/**
 * The PAN-OS driver's requests, one by one, against the PAN-OS simulator (test/lab/panos/simulator.ts) with a
 * test CA signing the firewall's CSR: no ACME, so every path runs in milliseconds. The request shapes are the
 * XML API's as documented by Palo Alto Networks (PAN-OS XML API: keygen, `type=op` commands, `type=export`
 * `category=certificate format=pkcs10`, `type=import category=certificate` multipart, `type=config action=get|set|
 * delete` with xpath and element, `type=commit` and `show jobs id`), as pan-os-python sends them.
 */

const USERS = { admin: 'correct horse battery staple' };
const PROFILE_XPATH = "/config/shared/ssl-tls-service-profile/entry[@name='ottr-mgmt']";
const SYSTEM_XPATH = "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system";
const SHOW_ADMINS = { type: 'op', cmd: '<show><admins></admins></show>' };
const PARTIAL_COMMIT = {
  type: 'commit',
  action: 'partial',
  cmd: '<commit><partial><admin><member>admin</member></admin></partial></commit>',
};

interface Seen {
  method: string;
  url: string;
  key: string | undefined;
  contentType: string;
  params: Record<string, string>;
  body: string;
}

let ca: TestCa;
beforeAll(async () => {
  ca = await TestCa.create();
});
const sims: PanosSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

/** A started simulator for `name` and the device file that reaches it (its factory key pinned). */
async function firewall(
  name: string,
  users: Record<string, string> = USERS,
  simulator: PanosSimulatorOptions = {},
) {
  const sim = new PanosSimulator(name, users, simulator);
  await sim.start();
  sims.push(sim);
  const pin = await servedSpkiPin({ host: '127.0.0.1', port: sim.port, servername: name });
  const device: Device = {
    system_name: name.split('.')[0]!,
    common_name: name,
    host_platform: 'panos',
    os_version: '10.2.4',
    data_center: 'lab',
    ip_address: '127.0.0.1',
    certificate_authority: 'lab',
    certificate_validation: false,
    connection: { port: sim.port, credentials: 'PANOS_LAB', tls_spki_sha256: pin },
  };
  return { sim, device };
}

async function connect(
  options: {
    credential?: string | ((sim: PanosSimulator) => string);
    routeOptions?: Record<string, unknown>;
    signal?: AbortSignal;
    simulator?: PanosSimulatorOptions;
  } = {},
) {
  const name = 'fw-driver.example.com';
  const { sim, device: base } = await firewall(name, USERS, options.simulator);
  const seen: Seen[] = [];
  const target = sim as unknown as { params(req: IncomingMessage, body: Buffer): URLSearchParams };
  const params = target.params.bind(sim);
  target.params = (req, body) => {
    const p = params(req, body);
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      key: req.headers['x-pan-key'] as string | undefined,
      contentType: String(req.headers['content-type'] ?? ''),
      params: Object.fromEntries(p),
      body: body.toString('utf8'),
    });
    return p;
  };
  const device: Device = { ...base, subject_alternative_names: [`vpn.${name}`] };

  const route: Route = {
    name: 'panos',
    match: { host_platform: 'panos' },
    platform: 'panos',
    options: { ssl_tls_profile: 'ottr-mgmt', ...options.routeOptions },
  };
  const masked: string[] = [];
  const session = await panosDriver.connect({
    device,
    route,
    options: panos.options.parse(route.options),
    secret: () =>
      typeof options.credential === 'function'
        ? options.credential(sim)
        : (options.credential ?? `admin:${USERS.admin}`),
    mask: (v) => masked.push(v),
    log: () => {},
    signal: options.signal ?? new AbortController().signal,
    trustedRoots: [],
  });
  return { sim, session, seen, device, masked };
}

const request = (
  key: KeyPolicy = { type: 'ecdsa', curve: 'P-256' },
  rotationId = 'ottr-20261202-a1',
): CsrRequest => ({
  names: ['fw-driver.example.com', 'vpn.fw-driver.example.com'],
  key,
  rotationId,
});

async function sign(csrPem: string): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  return (await ca.issue(request().names, { publicKey: await csr.publicKey.export() })).pem;
}

/** Rotates through install and activate; returns the receipt. */
async function installAndActivate(session: DriverSession, req = request()): Promise<InstallReceipt> {
  await session.precheck();
  const chain = await sign(await session.generateCsr(req));
  const receipt = await session.install(chain, req);
  await session.activate(receipt);
  return receipt;
}

const what = (s: Seen) => `${s.params.type}${s.params.action ? `/${s.params.action}` : ''}`;

describe('PAN-OS driver requests', () => {
  it('logs in with keygen as a form POST, then sends only the key it got, in X-PAN-KEY, never in a URL', async () => {
    const { sim, session, seen, masked } = await connect();
    await session.precheck();
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/api/',
      key: undefined,
      contentType: 'application/x-www-form-urlencoded',
      params: { type: 'keygen', user: 'admin', password: USERS.admin },
    });
    expect(masked).toContain(sim.apiKey);
    for (const s of seen.slice(1)) {
      expect(s.key).toBe(sim.apiKey);
      expect(s.method).toBe('POST');
      expect(s.url).not.toContain(sim.apiKey);
    }
  });

  it('an API key credential is used as it is (no keygen), even one with a colon in it', async () => {
    for (const withColon of [false, true]) {
      const { sim, session, seen } = await connect({
        credential: (sim) => {
          if (withColon) (sim as { apiKey: string }).apiKey = `${sim.apiKey}:tail`;
          return sim.apiKey;
        },
      });
      await session.precheck();
      // show system info, show admins (the key's admin), then the two nodes the rotation changes.
      expect(seen.map(what)).toEqual(['op', 'op', 'config/get', 'config/get']);
      expect(seen[0]!.key).toBe(sim.apiKey);
    }
  });

  it('precheck reads system info, the key’s admin, the profile’s certificate and the management profile, in that order', async () => {
    const { session, seen } = await connect();
    await session.precheck();
    expect(seen.slice(1).map((s) => s.params)).toEqual([
      { type: 'op', cmd: '<show><system><info></info></system></show>' },
      SHOW_ADMINS,
      { type: 'config', action: 'get', xpath: `${PROFILE_XPATH}/certificate` },
      { type: 'config', action: 'get', xpath: `${SYSTEM_XPATH}/ssl-tls-service-profile` },
    ]);
  });

  it.each([
    [{ type: 'ecdsa', curve: 'P-256' }, '<ECDSA><ecdsa-nbits>256</ecdsa-nbits></ECDSA>'],
    [{ type: 'ecdsa', curve: 'P-384' }, '<ECDSA><ecdsa-nbits>384</ecdsa-nbits></ECDSA>'],
    [{ type: 'ecdsa' }, '<ECDSA><ecdsa-nbits>256</ecdsa-nbits></ECDSA>'],
    [{ type: 'rsa', size: 3072 }, '<RSA><rsa-nbits>3072</rsa-nbits></RSA>'],
    [{ type: 'rsa' }, '<RSA><rsa-nbits>2048</rsa-nbits></RSA>'],
  ] as [KeyPolicy, string][])('generates the key on the firewall: %j as %s', async (key, algorithm) => {
    const { session, seen } = await connect();
    const pem = await session.generateCsr(request(key));
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----$/);
    expect(seen.slice(1).map((s) => s.params)).toEqual([
      {
        type: 'op',
        cmd: `<request><certificate><generate><algorithm>${algorithm}</algorithm><digest>sha256</digest><certificate-name>ottr-20261202-a1</certificate-name><name>fw-driver.example.com</name><hostname><member>fw-driver.example.com</member><member>vpn.fw-driver.example.com</member></hostname><signed-by>external</signed-by><ca>no</ca></generate></certificate></request>`,
      },
      {
        type: 'export',
        category: 'certificate',
        'certificate-name': 'ottr-20261202-a1',
        format: 'pkcs10',
        'include-key': 'no',
      },
    ]);
  });

  it.each([
    ['ottr-20261202-a1', {}, 'ottr-20261202-a1'],
    ['20261202-a1', {}, 'ottr-20261202-a1'],
    ['ottr-20261202-a1', { certificate_prefix: 'pki' }, 'pki-ottr-20261202-a1'],
    ['pki-20261202-a1', { certificate_prefix: 'pki' }, 'pki-20261202-a1'],
    [`ottr-${'x'.repeat(80)}`, {}, `ottr-${'x'.repeat(58)}`],
  ])('rotation %s with options %j is certificate %s (PAN-OS names are at most 63 characters)', async (id, routeOptions, expected) => {
    const { session, seen } = await connect({ routeOptions });
    await session.generateCsr(request(undefined, id));
    expect(seen[seen.length - 1]!.params['certificate-name']).toBe(expected);
  });

  it('imports the chain as a multipart PEM file under the rotation’s name, and activates it with a commit', async () => {
    const { sim, session, seen } = await connect();
    await session.precheck();
    const chain = await sign(await session.generateCsr(request()));
    const before = seen.length;
    const receipt = await session.install(chain, request());
    // A firewall in its factory state: no profile bound, the management server's built-in certificate served.
    expect(receipt).toEqual({ name: 'ottr-20261202-a1', previous: {} });
    const imported = seen[before]!;
    expect(imported.url).toBe(
      '/api/?type=import&category=certificate&certificate-name=ottr-20261202-a1&format=pem',
    );
    const boundary = /^multipart\/form-data; boundary=(ottr[0-9a-f]+)$/.exec(imported.contentType)?.[1];
    expect(boundary).toBeDefined();
    expect(imported.body).toBe(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ottr-20261202-a1.pem"\r\nContent-Type: application/x-pem-file\r\n\r\n${chain}\r\n--${boundary}--\r\n`,
    );
    expect(sim.certificates.get('ottr-20261202-a1')?.chainPem).toBeDefined();

    const activation = seen.length;
    await session.activate(receipt);
    const after = seen.slice(activation);
    expect(after.slice(0, 5).map((s) => s.params)).toEqual([
      { type: 'op', cmd: '<show><config-locks><vsys>all</vsys></config-locks></show>' },
      {
        type: 'config',
        action: 'set',
        xpath: PROFILE_XPATH,
        element:
          '<certificate>ottr-20261202-a1</certificate><protocol-settings><min-version>tls1-2</min-version></protocol-settings>',
      },
      {
        type: 'config',
        action: 'set',
        xpath: SYSTEM_XPATH,
        element: '<ssl-tls-service-profile>ottr-mgmt</ssl-tls-service-profile>',
      },
      { type: 'op', cmd: '<show><commit-locks></commit-locks></show>' },
      PARTIAL_COMMIT,
    ]);
    expect(after.slice(5).map((s) => s.params)).toContainEqual({
      type: 'op',
      cmd: '<show><jobs><id>1</id></jobs></show>',
    });
    expect(sim.servedCertificateName()).toBe('ottr-20261202-a1');
  });

  it('a second rotation records the first one’s certificate, and cleanup deletes only that one', async () => {
    const { sim, session, seen } = await connect();
    const first = await installAndActivate(session, request(undefined, 'ottr-1'));
    await session.cleanup(first); // previous was the built-in certificate, no config object: nothing deleted
    expect(seen.filter((s) => s.params.action === 'delete')).toEqual([]);

    const second = await installAndActivate(session, request(undefined, 'ottr-2'));
    expect(second.previous).toEqual({ certificate: 'ottr-1', mgmtProfile: 'ottr-mgmt' });
    const mark = seen.length;
    await session.cleanup(second);
    expect(seen.slice(mark).map(what)).toEqual(expect.arrayContaining(['config/delete', 'commit/partial']));
    expect(seen[mark]!.params).toEqual({
      type: 'config',
      action: 'delete',
      xpath: "/config/shared/certificate/entry[@name='ottr-1']",
    });
    expect(sim.certificates.has('ottr-1')).toBe(false);
    expect(sim.certificates.has('ottr-2')).toBe(true);
  });

  it('cleanup leaves a previous certificate another tool made, and one with the same name', async () => {
    const { session, seen } = await connect();
    await session.cleanup({ name: 'ottr-2', previous: { certificate: 'vendor-cert' } });
    await session.cleanup({ name: 'ottr-2', previous: { certificate: 'ottr-2' } });
    await session.cleanup({ name: 'ottr-2', previous: { certificate: 'ottrx-1' } });
    expect(seen.filter((s) => s.params.type !== 'keygen')).toEqual([]);
  });

  it('rollback reverts its admin’s changes, sets the previous certificate and management profile back and commits', async () => {
    // An admin had bound a profile of their own (mgmt-default, certificate web-ui-cert) before Ottr's.
    const { sim, session, seen } = await connect({ simulator: { adminProfile: true } });
    await installAndActivate(session, request(undefined, 'ottr-1'));
    const second = await installAndActivate(session, request(undefined, 'ottr-2'));
    const mark = seen.length;
    await session.rollback({ ...second, previous: { certificate: 'ottr-1', mgmtProfile: 'mgmt-default' } });
    expect(seen.slice(mark).map((s) => s.params)).toEqual([
      {
        type: 'op',
        cmd: '<revert><config><partial><admin><member>admin</member></admin></partial></config></revert>',
      },
      { type: 'config', action: 'get', xpath: `${PROFILE_XPATH}/certificate` },
      { type: 'config', action: 'get', xpath: `${SYSTEM_XPATH}/ssl-tls-service-profile` },
      { type: 'config', action: 'set', xpath: PROFILE_XPATH, element: '<certificate>ottr-1</certificate>' },
      {
        type: 'config',
        action: 'set',
        xpath: SYSTEM_XPATH,
        element: '<ssl-tls-service-profile>mgmt-default</ssl-tls-service-profile>',
      },
      { type: 'op', cmd: '<show><commit-locks></commit-locks></show>' },
      PARTIAL_COMMIT,
      ...seen.slice(mark + 7).map((s) => s.params),
    ]);
    expect(seen.slice(mark + 7).every((s) => (s.params.cmd ?? '').startsWith('<show><jobs>'))).toBe(true);
    expect(sim.servedCertificateName()).toBe('web-ui-cert');
  });

  it('rollback with nothing to restore reverts its admin’s changes and commits nothing', async () => {
    const { session, seen } = await connect();
    await session.precheck();
    const mark = seen.length;
    await session.rollback({ name: 'ottr-1', previous: {} });
    expect(seen.slice(mark).map(what)).toEqual(['op', 'config/get', 'config/get']);
  });

  it('discard deletes the unused certificate entry and never fails', async () => {
    const { sim, session, seen } = await connect();
    await session.generateCsr(request());
    await session.discard(request());
    expect(seen[seen.length - 1]!.params).toEqual({
      type: 'config',
      action: 'delete',
      xpath: "/config/shared/certificate/entry[@name='ottr-20261202-a1']",
    });
    expect(sim.certificates.has('ottr-20261202-a1')).toBe(false);
    sim.faults.add('authFail');
    await expect(session.discard(request())).resolves.toBeUndefined();
  });

  it('answers on the management interface it talked to', async () => {
    const { sim, session } = await connect();
    expect(session.tlsEndpoint()).toEqual({
      host: '127.0.0.1',
      port: sim.port,
      servername: 'fw-driver.example.com',
    });
    await expect(session.close()).resolves.toBeUndefined();
  });
});

describe('PAN-OS driver failures', () => {
  it('needs connection.credentials', async () => {
    await expect(
      panosDriver.connect({
        device: {
          system_name: 'x',
          common_name: 'x.example.com',
          host_platform: 'panos',
          os_version: '10.2.4',
          data_center: 'lab',
          certificate_authority: 'lab',
        },
        route: { name: 'panos', match: {}, platform: 'panos' },
        options: panos.options.parse(undefined),
        secret: () => 'unused',
        log: () => {},
        signal: new AbortController().signal,
        trustedRoots: [],
      }),
    ).rejects.toThrow('connection.credentials must name the secret with the API key or user:password');
  });

  it('an error answered with HTTP 200 names the request and the code; 403 names the credential', async () => {
    const { sim, session } = await connect();
    await session.precheck();
    await expect(session.generateCsr(request(undefined, 'bad name!'))).rejects.toThrow(
      new Error('PAN-OS op: invalid certificate-name ottr-bad name! (code 17)'),
    );
    sim.faults.add('authFail');
    await expect(session.precheck()).rejects.toThrow(
      new Error('PAN-OS op with the credential PANOS_LAB: Invalid Credential (code 403)'),
    );
  });

  it('an answer that is not an API response, and an HTTP error, are errors', async () => {
    const { sim, session } = await connect();
    const target = sim as unknown as { op(res: import('node:http').ServerResponse, cmd: string): void };
    target.op = (res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>maintenance</html>');
    };
    await expect(session.precheck()).rejects.toThrow(
      new Error('PAN-OS answered something that is not an API response: <html>maintenance</html>'),
    );
    target.op = (res) => {
      res.writeHead(503);
      res.end();
    };
    await expect(session.precheck()).rejects.toThrow(new Error('PAN-OS answered HTTP 503'));
  });

  it('an export without a CSR is an error naming the certificate', async () => {
    const { sim, session } = await connect();
    const target = sim as unknown as { exportCsr(res: import('node:http').ServerResponse): void };
    target.exportCsr = (res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('no csr here');
    };
    await expect(session.generateCsr(request())).rejects.toThrow(
      new Error('PAN-OS exported no CSR for ottr-20261202-a1: no csr here'),
    );
  });

  it('a chain without a certificate is refused before anything is sent', async () => {
    const { session, seen } = await connect();
    const mark = seen.length;
    await expect(session.install('not a chain', request())).rejects.toThrow(
      'the issued chain holds no certificate',
    );
    expect(seen.length).toBe(mark);
  });

  it('a failed commit names the job, the step and what the firewall said', async () => {
    const { sim, session } = await connect();
    await session.precheck();
    const receipt = await session.install(await sign(await session.generateCsr(request())), request());
    sim.faults.add('commitFail');
    await expect(session.activate(receipt)).rejects.toThrow(
      new Error(
        'commit 1 (activate) failed: Validation Error: ssl-tls-service-profile certificate is invalid',
      ),
    );
  });

  it('a commit that does not finish in commit_timeout is an error naming its state', async () => {
    const { sim, session } = await connect({ routeOptions: { commit_timeout: '1s' } });
    await session.precheck();
    const receipt = await session.install(await sign(await session.generateCsr(request())), request());
    sim.commitDelayMs = 60_000;
    const started = Date.now();
    await expect(session.activate(receipt)).rejects.toThrow(
      new Error('commit 1 (activate) still ACT after 1000 ms'),
    );
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('a commit with nothing to commit (no job) is done at once', async () => {
    const { sim, session, seen } = await connect();
    const target = sim as unknown as {
      handle(req: IncomingMessage, res: import('node:http').ServerResponse, body: Buffer): void;
    };
    const handle = target.handle.bind(sim);
    target.handle = (req, res, body) => {
      if (new URLSearchParams(body.toString()).get('type') === 'commit') {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end('<response status="success" code="19"><msg>There are no changes to commit.</msg></response>');
        return;
      }
      handle(req, res, body);
    };
    await session.cleanup({ name: 'ottr-2', previous: { certificate: 'ottr-1' } });
    expect(seen.filter((s) => (s.params.cmd ?? '').startsWith('<show><jobs>'))).toEqual([]);
  });

  it('an aborted job sends nothing more', async () => {
    const controller = new AbortController();
    const { session, seen } = await connect({ signal: controller.signal });
    const mark = seen.length;
    controller.abort(new Error('the run was cancelled'));
    await expect(session.precheck()).rejects.toThrow('the run was cancelled');
    expect(seen.length).toBe(mark);
  });

  it('a refused keygen names the credential and what the firewall said', async () => {
    await expect(connect({ credential: 'admin:wrong' })).rejects.toThrow(
      new Error('PAN-OS keygen refused the credential PANOS_LAB: Invalid Credential'),
    );
  });
});

/**
 * Answers the firewall gives in the field that the simulator does not produce on its own, each as the XML API
 * documents its envelope: `<response status="success|error" code="…">` with `<result>` or `<msg>`/`<line>`.
 */
function answer(sim: PanosSimulator, when: (params: URLSearchParams) => boolean, xml: string) {
  const target = sim as unknown as {
    handle(req: IncomingMessage, res: import('node:http').ServerResponse, body: Buffer): void;
  };
  const handle = target.handle.bind(sim);
  target.handle = (req, res, body) => {
    // Read here without the request recorder, which sees each request once, when the simulator reads it.
    const params = new URLSearchParams(new URL(req.url ?? '/', 'https://x').search);
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
    if (when(params)) {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(xml);
      return;
    }
    handle(req, res, body);
  };
}

/** A commit queued as job 1, whatever is pending. */
const JOB_ONE =
  '<response status="success"><result><msg><line>Commit job enqueued with jobid 1</line></msg><job>1</job></result></response>';

/** A firewall whose keygen answers `xml`; connect() is what the test runs. */
async function keygenAnswering(xml: string) {
  const { sim, device } = await firewall('fw-keygen.example.com');
  answer(sim, (p) => p.get('type') === 'keygen', xml);
  const masked: string[] = [];
  const connect = () =>
    panosDriver.connect({
      device,
      route: { name: 'panos', match: {}, platform: 'panos' },
      options: panos.options.parse(undefined),
      secret: () => `admin:${USERS.admin}`,
      mask: (v) => masked.push(v),
      log: () => {},
      signal: new AbortController().signal,
      trustedRoots: [],
    });
  return { sim, connect, masked };
}

describe('PAN-OS keygen answers', () => {
  it('the driver is registered as panos', () => {
    expect(panosDriver.name).toBe('panos');
  });

  it('a success without a key is refused; nothing but the credential is masked', async () => {
    const { connect, masked } = await keygenAnswering(
      '<response status="success"><result></result></response>',
    );
    await expect(connect()).rejects.toThrow(
      new Error('PAN-OS keygen refused the credential PANOS_LAB: error'),
    );
    expect(masked.filter((m) => !USERS.admin.includes(m) && m !== 'admin')).toEqual([]);
  });

  it('an error that carries a key anyway is refused, and the key is masked the moment it arrives', async () => {
    const { connect, masked } = await keygenAnswering(
      '<response status="error" code="403"><result><key>LUFRPTleaked</key><msg>Invalid Credential</msg></result></response>',
    );
    let message = '';
    await connect().catch((e: Error) => {
      message = e.message;
    });
    expect(masked).toContain('LUFRPTleaked');
    expect(message).toMatch(/^PAN-OS keygen refused the credential PANOS_LAB: /);
    expect(message).not.toContain('LUFRPTleaked');
  });

  it('an error with a <msg> and no <result> says what the msg says', async () => {
    const { connect } = await keygenAnswering(
      '<response status="error" code="400"><msg><line>Too many requests</line></msg></response>',
    );
    await expect(connect()).rejects.toThrow(
      new Error('PAN-OS keygen refused the credential PANOS_LAB: Too many requests'),
    );
  });

  it('an answer that is not XML of the API is refused without a crash', async () => {
    const { connect } = await keygenAnswering('<html>login portal</html>');
    await expect(connect()).rejects.toThrow(
      new Error('PAN-OS keygen refused the credential PANOS_LAB: error'),
    );
  });
});

describe('PAN-OS answers the simulator does not make on its own', () => {
  it('an error of several lines says them all, in order; no code is "?", no text is "error"', async () => {
    const { sim, session } = await connect();
    answer(
      sim,
      (p) => p.get('type') === 'op',
      '<response status="error" code="12"><msg><line>first</line><line><line>second</line></line></msg></response>',
    );
    await expect(session.precheck()).rejects.toThrow(new Error('PAN-OS op: first second (code 12)'));
    const bare = await connect();
    answer(bare.sim, (p) => p.get('type') === 'op', '<response status="error"><msg/></response>');
    await expect(bare.session.precheck()).rejects.toThrow(new Error('PAN-OS op: error (code ?)'));
  });

  it('an answer that is not an API response is quoted to 200 characters', async () => {
    const { sim, session } = await connect();
    const page = `<html>${'x'.repeat(300)}</html>`;
    answer(sim, (p) => p.get('type') === 'op', page);
    await expect(session.precheck()).rejects.toThrow(
      new Error(`PAN-OS answered something that is not an API response: ${page.slice(0, 200)}`),
    );
  });

  it('an export that is not a CSR is quoted to 200 characters', async () => {
    const { sim, session } = await connect();
    const page = 'y'.repeat(300);
    answer(sim, (p) => p.get('type') === 'export', page);
    await expect(session.generateCsr(request())).rejects.toThrow(
      new Error(`PAN-OS exported no CSR for ottr-20261202-a1: ${page.slice(0, 200)}`),
    );
  });

  it('a commit that fails without details says its result', async () => {
    const { sim, session } = await connect();
    answer(sim, (p) => p.get('type') === 'commit', JOB_ONE);
    answer(
      sim,
      (p) => (p.get('cmd') ?? '').startsWith('<show><jobs>'),
      '<response status="success"><result><job><id>1</id><status>FIN</status><result>FAIL</result></job></result></response>',
    );
    await expect(session.cleanup({ name: 'ottr-2', previous: { certificate: 'ottr-1' } })).rejects.toThrow(
      new Error('commit 1 (cleanup) failed: FAIL'),
    );
  });

  it('a job answer without a result is polled until the timeout, naming the step', async () => {
    const { sim, session } = await connect({ routeOptions: { commit_timeout: '1s' } });
    answer(sim, (p) => p.get('type') === 'commit', JOB_ONE);
    answer(
      sim,
      (p) => (p.get('cmd') ?? '').startsWith('<show><jobs>'),
      '<response status="success"></response>',
    );
    await session.precheck();
    await expect(session.cleanup({ name: 'ottr-2', previous: { certificate: 'ottr-1' } })).rejects.toThrow(
      /^commit 1 \(cleanup\) still undefined after 1000 ms$/,
    );
  });

  it('a slow commit is polled until it finishes, within moments of finishing', async () => {
    const { sim, session, seen } = await connect();
    await session.precheck();
    const receipt = await session.install(await sign(await session.generateCsr(request())), request());
    sim.commitDelayMs = 700;
    const started = Date.now();
    await session.activate(receipt);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(700);
    expect(took).toBeLessThan(2500);
    expect(seen.filter((s) => (s.params.cmd ?? '').startsWith('<show><jobs>')).length).toBeGreaterThan(1);
    expect(sim.servedCertificateName()).toBe('ottr-20261202-a1');
  });

  it('the default profile is ottr-mgmt, and a numeric-looking certificate name is kept as text', async () => {
    const { sim, session } = await connect({ routeOptions: { ssl_tls_profile: undefined } });
    answer(
      sim,
      // Answered only for the default profile's xpath: another profile name would get the simulator's answer.
      (p) => p.get('action') === 'get' && p.get('xpath') === `${PROFILE_XPATH}/certificate`,
      '<response status="success"><result><certificate>0123</certificate></result></response>',
    );
    await session.precheck();
    const receipt = await session.install(await sign(await session.generateCsr(request())), request());
    expect(receipt.previous).toEqual({ certificate: '0123' });
  });

  it('a config answer without a result records no previous certificate', async () => {
    const { sim, session } = await connect();
    answer(sim, (p) => p.get('action') === 'get', '<response status="success"></response>');
    await session.precheck();
    const receipt = await session.install(await sign(await session.generateCsr(request())), request());
    expect(receipt.previous).toEqual({});
  });

  it('an API key without a colon and without the LUFRPT prefix is used as it is', async () => {
    const { sim, session, seen } = await connect({
      credential: (sim) => {
        (sim as { apiKey: string }).apiKey = 'plain-api-key-0001';
        return sim.apiKey;
      },
    });
    await session.precheck();
    expect(seen.map(what)).toEqual(['op', 'op', 'config/get', 'config/get']);
    expect(seen[0]!.key).toBe(sim.apiKey);
  });

  it('a user:password whose password merely contains LUFRPT still logs in with keygen', async () => {
    const { sim, device } = await firewall('fw-lufrpt.example.com', { admin: 'xLUFRPTy' });
    const session = await panosDriver.connect({
      device,
      route: { name: 'panos', match: {}, platform: 'panos' },
      options: panos.options.parse(undefined),
      secret: () => 'admin:xLUFRPTy',
      log: () => {},
      signal: new AbortController().signal,
      trustedRoots: [],
    });
    await expect(session.precheck()).resolves.toBeUndefined();
    expect(sim.log[0]).toBe('POST keygen');
  });
});
