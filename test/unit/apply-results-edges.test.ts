import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  applyCertificate,
  applyResults,
  certificateRecord,
  readResults,
  renderCertificateBlock,
  resultFiles,
} from '../../src/gitops/apply-results.ts';
import type { RotationResult } from '../../src/model/results.ts';
import type { CertificateRecord } from '../../src/model/types.ts';

/** The record a rotated result becomes, field by field, and the device files it may and may not be spliced into. */

const CERTIFICATE = {
  not_before: '2026-11-23T06:00:00.000Z',
  not_after: '2027-02-21T06:00:00.000Z',
  serial: '04ab',
  issuer: 'CN=E7,O=Example CA,C=US',
  sha256_fingerprint: 'AB:CD',
  rotated_at: '2026-11-23T06:05:00.000Z',
};
const RECORD: CertificateRecord = { ...CERTIFICATE };
const BLOCK = [
  'certificate:',
  '  not_before: "2026-11-23T06:00:00.000Z"',
  '  not_after: "2027-02-21T06:00:00.000Z"',
  '  serial: "04ab"',
  '  issuer: "CN=E7,O=Example CA,C=US"',
  '  sha256_fingerprint: "AB:CD"',
  '  rotated_at: "2026-11-23T06:05:00.000Z"',
  '',
].join('\n');

const rotated = (
  system_name: string,
  extra: Partial<RotationResult['certificate']> = {},
): RotationResult => ({
  schema: 'ottr.result/v1',
  system_name,
  status: 'rotated',
  phases: [],
  certificate: { ...CERTIFICATE, pem: '-----BEGIN CERTIFICATE-----…', ...extra },
});

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});
const tempRoot = () => {
  root = mkdtempSync(join(tmpdir(), 'ottr-apply-edges-'));
  return root;
};

describe('the certificate record and block', () => {
  it('a rotated result becomes exactly the six record fields, in this order (never its PEM)', () => {
    const record = certificateRecord(rotated('fw1'))!;
    expect(Object.keys(record)).toEqual([
      'not_before',
      'not_after',
      'serial',
      'issuer',
      'sha256_fingerprint',
      'rotated_at',
    ]);
    expect(renderCertificateBlock(record)).toBe(BLOCK);
  });

  it('carries the renewal window only when the CA suggested one', () => {
    const window = { start: '2027-01-22T00:00:00Z', end: '2027-01-24T00:00:00Z' };
    expect(certificateRecord(rotated('fw1', { renewal_window: window }))!.renewal_window).toEqual(window);
    expect('renewal_window' in certificateRecord(rotated('fw1'))!).toBe(false);
    expect(renderCertificateBlock({ ...RECORD, renewal_window: window })).toBe(
      `${BLOCK}  renewal_window:\n    start: "2027-01-22T00:00:00Z"\n    end: "2027-01-24T00:00:00Z"\n`,
    );
  });
});

describe('applyCertificate splices the block in, or refuses a file it would break', () => {
  it('appends after a blank line and a comment to a file ending in a newline', () => {
    expect(applyCertificate('system_name: fw1\n', RECORD)).toBe(
      `system_name: fw1\n\n# Written by automation after each rotation; do not edit by hand.\n${BLOCK}`,
    );
  });

  it('appends after a blank line to a file without a final newline too', () => {
    expect(applyCertificate('system_name: fw1', RECORD)).toBe(
      `system_name: fw1\n\n# Written by automation after each rotation; do not edit by hand.\n${BLOCK}`,
    );
  });

  it('replaces an empty certificate key', () => {
    expect(applyCertificate('system_name: fw1\ncertificate:\nowner: me\n', RECORD)).toBe(
      `system_name: fw1\n${BLOCK}owner: me\n`,
    );
  });

  it('replaces a block that ends the file without a final newline', () => {
    expect(applyCertificate('system_name: fw1\ncertificate:\n  serial: "01"', RECORD)).toBe(
      `system_name: fw1\n${BLOCK}`,
    );
  });

  it('replaces a block in the middle, keeping the following key', () => {
    const after = applyCertificate('a: 1\ncertificate:\n  serial: "01"\n  issuer: x\nb: 2\n', RECORD)!;
    expect(after).toBe(`a: 1\n${BLOCK}b: 2\n`);
  });

  it.each([
    ['text that is not YAML', 'system_name: [fw1\n'],
    ['a list', '- system_name: fw1\n'],
    ['a scalar', 'fw1\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => applyCertificate(text, RECORD)).toThrow('the device file does not parse as a mapping');
  });

  it('refuses a flow mapping instead of writing broken YAML into it', () => {
    expect(() => applyCertificate('{system_name: fw1, certificate: {serial: "01"}}\n', RECORD)).toThrow(
      'the device file is a flow mapping',
    );
  });

  it('refuses an indented mapping instead of writing a block at another indentation', () => {
    expect(() => applyCertificate('  system_name: fw1\n  certificate:\n    serial: "01"\n', RECORD)).toThrow(
      'the certificate key does not start its line',
    );
  });
});

describe('reading result files', () => {
  it('finds every .json below the folder, one folder per artifact, in sorted order', () => {
    const dir = tempRoot();
    mkdirSync(join(dir, 'b'));
    mkdirSync(join(dir, 'a', 'deep'), { recursive: true });
    for (const file of ['b/2.json', 'a/deep/3.json', 'a/1.json', 'a/notes.txt', 'a/1.json.sig', 'z.json'])
      writeFileSync(join(dir, file), '{}');
    expect(resultFiles(dir).map((f) => f.slice(dir.length + 1))).toEqual([
      'a/1.json',
      'a/deep/3.json',
      'b/2.json',
      'z.json',
    ]);
  });

  it('turns files that are not results into problems naming the file, and keeps the good ones', () => {
    const dir = tempRoot();
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const good = write('good.json', JSON.stringify(rotated('fw1')));
    const files = [
      write('broken.json', '{"schema": '),
      write('null.json', 'null'),
      write('other-schema.json', JSON.stringify({ ...rotated('fw2'), schema: 'ottr.result/v0' })),
      write('no-name.json', JSON.stringify({ schema: 'ottr.result/v1', status: 'rotated' })),
      write('number-name.json', JSON.stringify({ schema: 'ottr.result/v1', system_name: 7 })),
      good,
    ];
    const { results, problems } = readResults(files);
    expect(results.map((r) => r.system_name)).toEqual(['fw1']);
    expect(problems.map((p) => p.file)).toEqual(files.slice(0, 5));
    expect(problems[0]!.message).toMatch(/JSON/);
    for (const p of problems.slice(1)) expect(p.message).toBe('not an ottr result file');
  });
});

describe('applyResults reports a device file it cannot update and goes on', () => {
  it('an unreadable or unparseable device file is a problem; the other devices are written', () => {
    const dir = tempRoot();
    mkdirSync(join(dir, 'is-a-folder.yaml'));
    writeFileSync(join(dir, 'flow.yaml'), '{system_name: fw2}\n');
    writeFileSync(join(dir, 'fw3.yaml'), 'system_name: fw3\n');
    const report = applyResults(
      dir,
      new Map([
        ['fw1', 'is-a-folder.yaml'],
        ['fw2', 'flow.yaml'],
        ['fw3', 'fw3.yaml'],
      ]),
      [rotated('fw1'), rotated('fw2'), rotated('fw3')],
    );
    expect(report.problems).toEqual([
      { file: 'is-a-folder.yaml', message: expect.stringMatching(/^not updated: EISDIR/) },
      {
        file: 'flow.yaml',
        message: 'not updated: the device file is a flow mapping ({…}); write it as a block mapping',
      },
    ]);
    expect(readFileSync(join(dir, 'flow.yaml'), 'utf8')).toBe('{system_name: fw2}\n');
    expect(report.updated).toEqual([
      { system_name: 'fw3', file: 'fw3.yaml', not_after: CERTIFICATE.not_after },
    ]);
    expect(parse(readFileSync(join(dir, 'fw3.yaml'), 'utf8')).certificate).toEqual(RECORD);
  });
});
