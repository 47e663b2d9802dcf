import { describe, expect, it } from 'vitest';
import type { Device, Route } from '../../src/model/types.ts';
import type { DriverContext, DriverSession } from '../../src/platforms/contract.ts';
import { credentialGuard, guardedDriver } from '../../src/platforms/shared/credential-guard.ts';

const CANARY = 'canary-user-7f3a:canary-pass-9b2c';
const TOKEN = 'T0KEN-canary-4e8d';

function context(secret: string, logs: string[], masked: string[]): DriverContext {
  const device: Device = {
    system_name: 'x',
    common_name: 'x.example.com',
    host_platform: 'f5',
    os_version: '1',
    data_center: 'lab',
    certificate_authority: 'lab',
    connection: { credentials: 'CANARY_LOGIN' },
  };
  const route: Route = { name: 'f5', match: { host_platform: 'f5' }, platform: 'f5' };
  return {
    device,
    route,
    options: {},
    secret: () => secret,
    mask: (v) => masked.push(v),
    log: (m) => logs.push(m),
    signal: new AbortController().signal,
  };
}

const failing = (message: string) => async () => {
  throw new Error(message);
};

describe('the credential guard: what slips into a message anyway is cut out', () => {
  it('scrubs the value, the password and derived tokens from errors and log lines; masks tokens at once', async () => {
    const logs: string[] = [];
    const masked: string[] = [];
    const driver = guardedDriver('test', async (ctx, guard) => {
      const value = ctx.secret('CANARY_LOGIN');
      guard.derived(TOKEN);
      ctx.log(`logging in with ${value}, token ${TOKEN} (${encodeURIComponent(TOKEN)})`);
      return {
        precheck: failing(`refused: password canary-pass-9b2c, token ${TOKEN}`),
        tlsEndpoint: () => ({ host: 'h', port: 1, servername: 'h' }),
      } as unknown as DriverSession;
    });
    const session = await driver.connect(context(CANARY, logs, masked));
    const error = await session.precheck().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toBe('refused: password [redacted], token [redacted]');
    expect(error?.stack).not.toMatch(/canary-pass|T0KEN/);
    expect(logs.join('\n')).not.toMatch(/canary-pass|T0KEN/);
    expect(masked).toContain(TOKEN);
    expect(masked).toContain('canary-pass-9b2c');
    // The user name is not masked in the runner's log (a user "root" would blank every "root"), but messages
    // never name it: drivers write the secret's name, and device text loses it (below).
    expect(masked).not.toContain('canary-user-7f3a');
    expect(session.tlsEndpoint()).toEqual({ host: 'h', port: 1, servername: 'h' });
  });

  it('scrubs what connect itself throws', async () => {
    const driver = guardedDriver('test', async (ctx) => {
      const value = ctx.secret('CANARY_LOGIN');
      throw new Error(`cannot use ${JSON.stringify({ value })}`);
    });
    await expect(driver.connect(context('canary-user-7f3a:pa"ss\\word-9b2c', [], []))).rejects.toThrow(
      'cannot use {"value":"[redacted]"}',
    );
  });

  it('device text loses the user names too; the driver’s own words are left alone', () => {
    const guard = credentialGuard({});
    guard.remember('root:canary-pass-9b2c');
    expect(guard.fromDevice('Authentication failed for root (password canary-pass-9b2c)')).toBe(
      'Authentication failed for [redacted] (password [redacted])',
    );
    expect(guard.scrub('no root is granted for management')).toBe('no root is granted for management');
  });

  it('cuts out every line of a multi-line secret (an SSH key) and leaves short values alone', () => {
    const guard = credentialGuard({});
    // A made-up, truncated key (its armour assembled here, so no key-shaped block sits in the source).
    const armour = (edge: string) => `-----${edge} OPENSSH ${'PRIVATE'} KEY-----`;
    const key = [
      armour('BEGIN'),
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
      'QyNTUxOQAAACDcanarycommentcanarycommentcanarycommentAAAAJg7n0yROp9Mk',
      armour('END'),
    ].join('\n');
    guard.remember(key);
    guard.derived('abc'); // too short to look for: "abc" would blank ordinary words
    const message = `parse error near QyNTUxOQAAACDcanarycommentcanarycommentcanarycommentAAAAJg7n0yROp9Mk at abc`;
    expect(guard.scrub(message)).toBe('parse error near [redacted] at abc');
  });
});
