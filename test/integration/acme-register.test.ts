import { createPrivateKey } from 'node:crypto';
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
