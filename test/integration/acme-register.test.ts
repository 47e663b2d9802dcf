import { createPrivateKey } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import * as acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { type Pebble, startPebble } from '../lab/pebble/pebble.ts';

const EAB_KID = 'kid-lab';
const EAB_HMAC = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
let open: Pebble;
let eab: Pebble;

beforeAll(async () => {
  [open, eab] = await Promise.all([
    startPebble({ dnsServer: '127.0.0.1:1' }),
    startPebble({ dnsServer: '127.0.0.1:1', eab: { [EAB_KID]: EAB_HMAC } }),
  ]);
  acme.axios.defaults.httpsAgent = open.agent; // both use certificates the same way; each test sets its own
}, 60_000);
afterAll(async () => {
  await Promise.all([open?.stop(), eab?.stop()]);
});

describe('ottr acme register', () => {
  it('creates an account and prints its key once, on standard output only', async () => {
    acme.axios.defaults.httpsAgent = open.agent;
    const run = await runCli([
      'acme',
      'register',
      '--authority',
      'lets_encrypt',
      '--directory',
      open.directoryUrl,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^-----BEGIN (EC )?PRIVATE KEY-----/);
    expect(() => createPrivateKey(run.stdout)).not.toThrow();
    expect(run.stderr).toMatch(/store it as the secret LE_ACCOUNT_KEY/);
    expect(run.stderr).not.toMatch(/PRIVATE KEY/);
  });

  it('binds the account with EAB from the secrets the authority names, and fails clearly without them', async () => {
    acme.axios.defaults.httpsAgent = eab.agent;
    const missing = await runCli([
      'acme',
      'register',
      '--authority',
      'corp_ca',
      '--directory',
      eab.directoryUrl,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the secret CORP_CA_EAB_KID \(EAB key id\) is not set/);
    const env = { CORP_CA_EAB_KID: EAB_KID, CORP_CA_EAB_HMAC: EAB_HMAC };
    const ok = await runCli(
      ['acme', 'register', '--authority', 'corp_ca', '--directory', eab.directoryUrl],
      undefined,
      env,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.output).not.toContain(EAB_HMAC);
    const refused = await runCli(
      ['acme', 'register', '--authority', 'corp_ca', '--directory', eab.directoryUrl],
      undefined,
      { CORP_CA_EAB_KID: EAB_KID, CORP_CA_EAB_HMAC: 'AAAA' },
    );
    expect(refused.code).toBe(1);
    expect(refused.output).not.toContain('AAAA');
  });

  it('rejects unknown authorities and conflicting flags', async () => {
    expect((await runCli(['acme', 'register', '--authority', 'lets_encrpyt'])).stderr).toMatch(
      /did you mean "lets_encrypt"/,
    );
    expect(
      (
        await runCli([
          'acme',
          'register',
          '--authority',
          'lets_encrypt',
          '--staging',
          '--directory',
          'https://x',
        ])
      ).code,
    ).toBe(2);
    expect((await runCli(['acme', 'deregister'])).code).toBe(2);
  });
});

describe('ottr acme register against a CA that cannot be reached', () => {
  const register = (directory: string, ...extra: string[]) =>
    runCli(['acme', 'register', '--authority', 'lets_encrypt', '--directory', directory, ...extra]);

  /** Runs `register` and gives its output with how long it took. */
  async function timed(directory: string, ...extra: string[]) {
    const started = Date.now();
    const run = await register(directory, ...extra);
    return { ...run, ms: Date.now() - started };
  }

  it('says ECONNREFUSED at once for a closed port, not "Cannot read properties of undefined"', async () => {
    const run = await timed('https://127.0.0.1:1/dir');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('registration failed: cannot reach https://127.0.0.1:1/dir: ECONNREFUSED');
    expect(run.output).not.toMatch(/Cannot read properties|undefined/);
    expect(run.ms).toBeLessThan(5000); // acme-client's own retries took 75 s
  });

  it('says ENOTFOUND within seconds for a name that cannot resolve (RFC 6761 .invalid), resolver or not', async () => {
    const run = await timed('https://ca.invalid/dir', '--timeout', '3');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /cannot reach https:\/\/ca\.invalid\/dir: (ENOTFOUND|EAI_AGAIN|timeout after 3 s)/,
    );
    expect(run.ms).toBeLessThan(5000);
    const trailingDot = await timed('https://acme.ca.invalid./dir', '--timeout', '3');
    expect(trailingDot.stderr).toMatch(/ENOTFOUND \(the name does not resolve\)/);
  });

  it('gives up on a CA that accepts the connection and never answers after --timeout', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket)); // accepts, then says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const run = await timed(`https://127.0.0.1:${port}/dir`, '--timeout', '1');
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`cannot reach https://127.0.0.1:${port}/dir: timeout after 1 s`);
      expect(run.ms).toBeGreaterThanOrEqual(900);
      expect(run.ms).toBeLessThan(4000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('says when the URL answers but is not an ACME directory, and checks --timeout', async () => {
    acme.axios.defaults.httpsAgent = open.agent;
    const notFound = await register(open.directoryUrl.replace(/\/dir$/, '/no-such-path'));
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(
      /cannot reach https:\/\/127\.0\.0\.1:\d+\/no-such-path: it answered HTTP 404/,
    );
    for (const bad of ['0', '-1', 'soon', '601']) {
      const run = await register(open.directoryUrl, `--timeout=${bad}`);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--timeout must be a number of seconds/);
    }
    expect((await runCli(['acme', 'register', '--help'])).stdout).toMatch(
      /--timeout SECONDS .*\(default 10\)/,
    );
  });
});
