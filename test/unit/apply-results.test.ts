import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  applyCertificate,
  applyResults,
  certificateRecord,
  renderCertificateBlock,
} from '../../src/gitops/apply-results.ts';
import type { RotationResult } from '../../src/model/results.ts';
import type { CertificateRecord } from '../../src/model/types.ts';
import { makeRepo, runCli, type TempRepo } from '../helpers/cli.ts';

const RECORD: CertificateRecord = {
  not_before: '2026-11-23T06:00:00.000Z',
  not_after: '2027-02-21T06:00:00.000Z',
  serial: '04ab',
  issuer: "CN=E7,O=Let's Encrypt,C=US",
  sha256_fingerprint:
    'AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB',
  rotated_at: '2026-11-23T06:05:00.000Z',
  renewal_window: { start: '2027-01-22T00:00:00Z', end: '2027-01-24T00:00:00Z' },
};

describe('applyCertificate', () => {
  it('replaces only the certificate block, keeping every other byte', () => {
    const before =
      'system_name: fw1   # odd spacing kept\nos_version: \'10.2\'\ncertificate:\n  not_after: "2026-01-01T00:00:00Z"  # old\n  serial: "01"\nlabels: {rack: "14"}  # after the block\n';
    const after = applyCertificate(before, RECORD)!;
    expect(after.startsWith("system_name: fw1   # odd spacing kept\nos_version: '10.2'\n")).toBe(true);
    expect(after.endsWith('labels: {rack: "14"}  # after the block\n')).toBe(true);
    expect(parse(after).certificate).toEqual(RECORD);
    expect(applyCertificate(after, RECORD)).toBeUndefined(); // idempotent
  });

  it('appends a block to a device that never had one, also without a final newline', () => {
    const before = 'system_name: fw1\nowner: me';
    const after = applyCertificate(before, RECORD)!;
    expect(after.startsWith('system_name: fw1\nowner: me\n')).toBe(true);
    expect(after).toContain(renderCertificateBlock(RECORD));
    expect(parse(after)).toMatchObject({ system_name: 'fw1', owner: 'me', certificate: RECORD });
  });

  it('writes values no YAML reader can mistake for another type', () => {
    expect(renderCertificateBlock({ not_after: '2027-01-01', serial: '0123' })).toBe(
      'certificate:\n  not_after: "2027-01-01"\n  serial: "0123"\n',
    );
  });
});

describe('ottr apply-results', () => {
  let repo: TempRepo | undefined;
  afterEach(() => {
    repo?.cleanup();
    repo = undefined;
  });

  const result = (system_name: string, status: RotationResult['status']): RotationResult => ({
    schema: 'ottr.result/v1',
    system_name,
    status,
    phases: [],
    ...(status === 'rotated'
      ? {
          certificate: {
            ...RECORD,
            not_before: RECORD.not_before!,
            serial: RECORD.serial!,
            issuer: RECORD.issuer!,
            sha256_fingerprint: RECORD.sha256_fingerprint!,
            rotated_at: RECORD.rotated_at!,
          },
        }
      : { error: { phase: 'verify', class: 'verify_failed', message: 'x' } }),
  });

  it('updates rotated devices, leaves failed ones, skips removed ones, and is idempotent', async () => {
    repo = makeRepo({ withSampleInventory: true });
    const dir = join(repo.root, 'results', 'artifact-1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'fw-sfo1-01.json'), JSON.stringify(result('fw-sfo1-01', 'rotated')));
    writeFileSync(join(dir, 'web-sfo1-01.json'), JSON.stringify(result('web-sfo1-01', 'rotated')));
    writeFileSync(join(dir, 'lb-sfo1-01.json'), JSON.stringify(result('lb-sfo1-01', 'rolled_back')));
    writeFileSync(join(dir, 'gone-01.json'), JSON.stringify(result('gone-01', 'rotated')));
    const failedBefore = readFileSync(join(repo.root, 'inventory/sfo1/lb-sfo1-01.yaml'), 'utf8');
    const run = await runCli(['apply-results', join(repo.root, 'results'), '--root', repo.root]);
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).toMatch(/2 device file\(s\) updated/);
    expect(run.stdout).toMatch(/gone-01: no longer in the inventory, skipped/);
    expect(readFileSync(join(repo.root, 'inventory/sfo1/lb-sfo1-01.yaml'), 'utf8')).toBe(failedBefore);
    expect(
      parse(readFileSync(join(repo.root, 'inventory/sfo1/fw-sfo1-01.yaml'), 'utf8')).certificate.serial,
    ).toBe('04ab');
    const validate = await runCli(['validate', '--root', repo.root]);
    expect(validate.code, validate.output).toBe(0);
    const again = await runCli(['apply-results', join(repo.root, 'results'), '--root', repo.root]);
    expect(again.stdout).toMatch(/0 device file\(s\) updated, 2 already up to date/);
  });
});

describe('applyResults never writes the certificate of a result that did not rotate', () => {
  const CERTIFICATE = {
    not_before: RECORD.not_before!,
    not_after: RECORD.not_after!,
    serial: RECORD.serial!,
    issuer: RECORD.issuer!,
    sha256_fingerprint: RECORD.sha256_fingerprint!,
    rotated_at: RECORD.rotated_at!,
    renewal_window: RECORD.renewal_window!,
  };
  const DEVICE =
    'system_name: fw1   # kept\ncommon_name: fw1.example.com\ncertificate:\n  not_after: "2026-01-01T00:00:00Z"\n  serial: "01"\n';
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it.each([
    'failed',
    'rolled_back',
    'skipped',
  ] as const)('a %s result carrying a certificate block leaves the device file byte-identical', (status) => {
    root = mkdtempSync(join(tmpdir(), 'ottr-apply-'));
    mkdirSync(join(root, 'inventory'));
    const file = join('inventory', 'fw1.yaml');
    writeFileSync(join(root, file), DEVICE);
    const neverRecorded = join('inventory', 'fw2.yaml');
    writeFileSync(join(root, neverRecorded), 'system_name: fw2\n');
    const result = (system_name: string): RotationResult => ({
      schema: 'ottr.result/v1',
      system_name,
      status,
      phases: [],
      certificate: CERTIFICATE,
      error: { phase: 'verify', class: 'verify_failed', message: 'x' },
    });
    expect(certificateRecord(result('fw1'))).toBeUndefined();
    const report = applyResults(
      root,
      new Map([
        ['fw1', file],
        ['fw2', neverRecorded],
      ]),
      [result('fw1'), result('fw2')],
    );
    expect(readFileSync(join(root, file), 'utf8')).toBe(DEVICE);
    expect(readFileSync(join(root, neverRecorded), 'utf8')).toBe('system_name: fw2\n');
    expect(report).toEqual({
      updated: [],
      unchanged: [],
      untouched: [
        { system_name: 'fw1', status },
        { system_name: 'fw2', status },
      ],
      removed: [],
      problems: [],
    });
  });

  it('the same certificate block in a rotated result is written (the control)', () => {
    root = mkdtempSync(join(tmpdir(), 'ottr-apply-'));
    writeFileSync(join(root, 'fw1.yaml'), DEVICE);
    const report = applyResults(root, new Map([['fw1', 'fw1.yaml']]), [
      {
        schema: 'ottr.result/v1',
        system_name: 'fw1',
        status: 'rotated',
        phases: [],
        certificate: CERTIFICATE,
      },
    ]);
    expect(report.updated).toEqual([{ system_name: 'fw1', file: 'fw1.yaml', not_after: RECORD.not_after }]);
    expect(parse(readFileSync(join(root, 'fw1.yaml'), 'utf8')).certificate).toEqual(RECORD);
  });
});
