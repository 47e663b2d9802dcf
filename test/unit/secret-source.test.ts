import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  maskableParts,
  NO_SECRETS,
  secretMap,
  secretSlots,
  secretsFile,
  secretsWithPrefix,
} from '../../src/secrets/source.ts';

/**
 * Secret values come only from an explicit map. The attacker here is a device file that names a variable the
 * runner has anyway (AWS_SECRET_ACCESS_KEY, ACTIONS_ID_TOKEN_REQUEST_TOKEN, GITHUB_TOKEN): it must get nothing.
 */
const RUNNER_ENV = {
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-token',
  GITHUB_TOKEN: 'ghs_token',
};

describe('secretMap', () => {
  it('serves only non-empty string values, names sorted', () => {
    const source = secretMap({ B: 'b', A: 'a', EMPTY: '', ODD: 7 as unknown as string }, 'test map');
    expect(source.description).toBe('test map');
    expect(source.names()).toEqual(['A', 'B']);
    expect(source.get('A')).toBe('a');
    expect(source.get('EMPTY')).toBeUndefined();
    expect(source.get('ODD')).toBeUndefined();
    expect(source.get('toString')).toBeUndefined();
  });

  it('NO_SECRETS has none', () => {
    expect(NO_SECRETS.names()).toEqual([]);
    expect(NO_SECRETS.get('GITHUB_TOKEN')).toBeUndefined();
    expect(NO_SECRETS.description).toBe('no secrets');
  });
});

describe('secretSlots: the n-th name gets OTTR_SECRET_<n>, nothing else is read', () => {
  it('maps each slot to its name, 1-based', () => {
    const source = secretSlots(
      ['FW_API', 'LB_LOGIN', 'UNFILLED'],
      { ...RUNNER_ENV, OTTR_SECRET_1: 'fw', OTTR_SECRET_2: 'lb', OTTR_SECRET_4: 'stray' },
      8,
    );
    expect(source.names()).toEqual(['FW_API', 'LB_LOGIN']);
    expect(source.get('FW_API')).toBe('fw');
    expect(source.get('LB_LOGIN')).toBe('lb');
    expect(source.get('UNFILLED')).toBeUndefined();
    expect(source.description).toBe("the job's secret slots OTTR_SECRET_1…8 (3 named by the plan)");
  });

  it('a hostile name for a runner variable finds nothing', () => {
    const source = secretSlots([], { ...RUNNER_ENV, OTTR_SECRET_1: 'x' }, 8);
    for (const name of Object.keys(RUNNER_ENV)) expect(source.get(name)).toBeUndefined();
    expect(source.names()).toEqual([]);
  });

  it('refuses more names than the job has slots, and takes exactly as many', () => {
    const nine = Array.from({ length: 9 }, (_, i) => `S${i}`);
    expect(() => secretSlots(nine, {}, 8)).toThrow('the job names 9 secrets; a job has 8 slots');
    expect(secretSlots(nine.slice(0, 8), { OTTR_SECRET_8: 'last' }, 8).get('S7')).toBe('last');
  });
});

describe('secretsFile', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const file = (text: string) => {
    dir ??= mkdtempSync(join(tmpdir(), 'ottr-secrets-'));
    const path = join(dir, 'secrets.json');
    writeFileSync(path, text);
    return path;
  };

  it('serves the object it holds, and says where from', () => {
    const path = file('{"FW_API": "key", "EMPTY": ""}');
    const source = secretsFile(path);
    expect(source.get('FW_API')).toBe('key');
    expect(source.names()).toEqual(['FW_API']);
    expect(source.description).toBe(`file ${path}`);
  });

  it('a missing file names the file and the error code, never a stack', () => {
    expect(() => secretsFile('/nonexistent/secrets.json')).toThrow(
      new Error('cannot read the secrets file /nonexistent/secrets.json (ENOENT)'),
    );
  });

  it('text that is not JSON is named as such, without echoing the text (it may hold a secret)', () => {
    const path = file('{"FW_API": "s3cr3t",');
    let message = '';
    try {
      secretsFile(path);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(`the secrets file ${path} is not JSON`);
  });

  it.each([['[]'], ['null'], ['"text"'], ['42']])('refuses %s: it must be one object', (text) => {
    const path = file(text);
    expect(() => secretsFile(path)).toThrow(
      new Error(`the secrets file ${path} must hold one JSON object: {"NAME": "value", …}`),
    );
  });

  it('refuses a value that is not a string, naming the key', () => {
    const path = file('{"FW_API": "ok", "PORT": 443}');
    expect(() => secretsFile(path)).toThrow(new Error(`the secrets file ${path}: PORT must be a string`));
  });
});

describe('secretsWithPrefix', () => {
  it('serves PREFIX<NAME> variables only, without the prefix', () => {
    const source = secretsWithPrefix(
      {
        ...RUNNER_ENV,
        OTTR_SECRET_FW_API: 'key',
        OTTR_SECRET_: 'bare',
        OTTR_SECRET_EMPTY: '',
        XOTTR_SECRET_A: 'x',
      },
      'OTTR_SECRET_',
    );
    expect(source.names()).toEqual(['FW_API']);
    expect(source.get('FW_API')).toBe('key');
    expect(source.description).toBe('environment variables OTTR_SECRET_<NAME>');
  });

  it.each([
    '',
    'ottr_secret_',
    'OTTR_SECRET',
    '_OTTR_',
    '1OTTR_',
    'OTTR-SECRET_',
  ])('refuses the prefix %j, which would reach other variables', (prefix) => {
    expect(() => secretsWithPrefix(RUNNER_ENV, prefix)).toThrow(
      `--secrets-env-prefix must be upper case and end in _ (e.g. OTTR_SECRET_), not "${prefix}"`,
    );
  });

  it('accepts a one-letter prefix and digits after the first letter', () => {
    expect(secretsWithPrefix({ A_X: '1' }, 'A_').get('X')).toBe('1');
    expect(secretsWithPrefix({ A1_X: '1' }, 'A1_').get('X')).toBe('1');
  });
});

describe('maskableParts', () => {
  it('masks each non-empty line, trimmed, once', () => {
    expect(maskableParts('-----BEGIN-----\r\nAAAA\n  BBBB  \n\n \nAAAA\n-----END-----\n')).toEqual([
      '-----BEGIN-----',
      'AAAA',
      'BBBB',
      '-----END-----',
    ]);
    expect(maskableParts('one-line')).toEqual(['one-line']);
    expect(maskableParts('  \n')).toEqual([]);
  });
});
