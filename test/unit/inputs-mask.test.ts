import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jobSecrets, mask } from '../../src/actions/inputs.ts';

/**
 * The runner masks a secret only as `::add-mask::VALUE` commands on stdout, one line each: a multi-line secret
 * (a PEM key) must be masked line by line, every non-empty line, and never as one multi-line command (which the
 * runner would take as a single value it never sees whole in a log line).
 */
let written: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  written = [];
});

function captureStdout() {
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
}

/** Every ::add-mask:: value written, unescaped the way the runner reads it. */
function masks(): string[] {
  return written
    .join('')
    .split(/\r?\n/)
    .filter((l) => l.startsWith('::add-mask::'))
    .map((l) =>
      l.slice('::add-mask::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'),
    );
}

const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const RSA_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString()
  .replace(/\n/g, '\r\n');
const lines = (value: string) =>
  value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

describe('jobSecrets masks every line of every secret', () => {
  it('a multi-line PEM: every non-empty line, each in its own command, none multi-line', () => {
    captureStdout();
    const env = { OTTR_SECRET_1: PEM, OTTR_SECRET_2: RSA_PEM, OTTR_SECRET_3: 'one-line-token-5e1f' };
    const source = jobSecrets(['LAB_SSH_KEY', 'OTHER_KEY', 'API_TOKEN'], env, 3);
    expect(source.get('LAB_SSH_KEY')).toBe(PEM);
    const masked = masks();
    expect(lines(PEM).length).toBeGreaterThan(3);
    for (const line of [...lines(PEM), ...lines(RSA_PEM)]) expect(masked).toContain(line);
    expect(masked).toContain('one-line-token-5e1f');
    for (const value of masked) expect(value).not.toMatch(/[\r\n]/);
    // Nothing about a secret reaches stdout except the mask commands.
    const other = written
      .join('')
      .split(/\r?\n/)
      .filter((l) => l && !l.startsWith('::add-mask::'));
    expect(other).toEqual([]);
  });

  it('masks the secret of every slot the plan named, not only the first', () => {
    captureStdout();
    const env = { OTTR_SECRET_1: 'first-7a', OTTR_SECRET_2: 'second-8b', OTTR_SECRET_3: 'third-9c' };
    jobSecrets(['A', 'B', 'C'], env, 3);
    expect(masks()).toEqual(expect.arrayContaining(['first-7a', 'second-8b', 'third-9c']));
  });
});

describe('mask', () => {
  it('a multi-line value: every non-empty line, none multi-line', () => {
    captureStdout();
    mask(PEM);
    const masked = masks();
    expect(masked).toEqual(expect.arrayContaining(lines(PEM)));
    for (const value of masked) expect(value).not.toMatch(/[\r\n]/);
  });

  it('a one-line value, whole', () => {
    captureStdout();
    mask('LUFRPTtoken-one-line');
    expect(masks()).toEqual(['LUFRPTtoken-one-line']);
  });
});
