import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AcceptContext,
  type AuthorityTrust,
  acceptResults,
  authorityTrust,
  BACKDATE_ALLOWANCE_MS,
  certificateEvidence,
  describeRefusal,
  entryDevices,
  type FoundResult,
  findResults,
} from '../../src/gitops/accept-results.ts';
import type { RotationResult } from '../../src/model/results.ts';
import type { Device, Settings } from '../../src/model/types.ts';
import type { Plan } from '../../src/plan/build-plan.ts';
import { type Issuer, rotatedResult, selfSignedPem, TestCa } from '../helpers/test-ca.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SKEW = 5 * MINUTE;
/** Whole seconds: a certificate's validity has no milliseconds, so boundaries are exact. */
const T0 = Math.floor(Date.now() / SECOND) * SECOND;
const iso = (ms: number) => new Date(ms).toISOString();

const device = (name: string, names: string[], authority = 'lets_encrypt'): Device =>
  ({
    system_name: name,
    common_name: names[0]!,
    subject_alternative_names: names.slice(1),
    host_platform: 'panos',
    os_version: '10.2.4',
    device_model: 'PA-3220',
    data_center: 'sfo1',
    certificate_authority: authority,
    connection: { credentials: 'X' },
  }) as Device;

const FW = device('fw-sfo1-01', ['fw-sfo1-01.mgmt.example.com', 'vpn-sfo1.example.com']);
const FW2 = device('fw-sfo1-02', ['fw-sfo1-02.mgmt.example.com']);
const namesOf = (d: Device) => [d.common_name, ...(d.subject_alternative_names ?? [])];

const plan = {
  version: 1,
  now: iso(T0 - 20 * MINUTE),
  matrix: {
    include: [
      { id: 'fw-sfo1-01', devices: ['fw-sfo1-01'], data_center: 'sfo1' },
      { id: 'fw-sfo1-02', devices: ['fw-sfo1-02'], data_center: 'sfo1' },
    ],
  },
} as unknown as Plan;

let ca: TestCa;
let trust: AuthorityTrust;
let context: AcceptContext;

beforeAll(async () => {
  ca = await TestCa.create();
  trust = { rootsPem: [ca.rootPem] };
  context = {
    plan,
    devices: new Map([FW, FW2].map((d) => [d.system_name, d])),
    trust: new Map([['lets_encrypt', trust]]),
    now: new Date(T0),
  };
});

const inArtifact = (id: string, result: RotationResult): FoundResult => ({
  file: `ottr-result-${id}/${result.system_name}.json`,
  artifact: `ottr-result-${id}`,
  result,
});

/** A genuine rotated result of `d`, its leaf valid from `notBefore` for `days`, rotated_at = `rotatedAt`. */
async function genuine(
  d: Device,
  options: { notBefore?: number; days?: number; rotatedAt?: number; signer?: Issuer; ca?: boolean } = {},
) {
  const notBefore = options.notBefore ?? T0 - HOUR;
  const issued = await ca.issue(namesOf(d), {
    notBefore: new Date(notBefore),
    days: options.days ?? 90,
    ...(options.ca ? { ca: true } : {}),
    ...(options.signer ? { signer: options.signer, intermediates: [options.signer.cert] } : {}),
  });
  const result = rotatedResult(d.system_name, issued.pem, new Date(options.rotatedAt ?? notBefore));
  return { result, notBefore, notAfter: notBefore + (options.days ?? 90) * DAY, leaf: issued.leaf };
}

const evidence = (result: RotationResult, now: number, floor = 0, t: AuthorityTrust = trust, d = FW) =>
  certificateEvidence(result, d, t, { notBeforeFloor: floor, now: new Date(now) });

const problemsOf = (e: ReturnType<typeof certificateEvidence>) => ('problems' in e ? e.problems : []);

/** An intermediate under the test root, with the subject given (no O= when the subject has none). */
async function intermediate(subject: string): Promise<Issuer> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '7e000001',
    subject,
    issuer: ca.root.cert.subject,
    notBefore: new Date(T0 - DAY),
    notAfter: new Date(T0 + 1000 * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.root.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { cert, keys };
}

describe('findResults: every regular *.json below the folder, in a sorted order, nothing else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-accept-edges-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const result = (name: string) =>
    JSON.stringify({ schema: 'ottr.result/v1', system_name: name, status: 'failed', phases: [] });

  it('finds results in sorted order across nested folders, whatever order the folder lists them in', () => {
    const root = join(dir, 'sorted');
    // Created in a shuffled order, many of them, so a directory listing is not sorted by chance.
    const letters = 'qwertyuiopasdfghjklzxcvbnm'.split('');
    for (const folder of ['ottr-result-b', 'ottr-result-a']) {
      mkdirSync(join(root, folder, 'deep'), { recursive: true });
      for (const l of letters) writeFileSync(join(root, folder, `${l}.json`), result(`${folder}-${l}`));
      writeFileSync(join(root, folder, 'deep', 'x.json'), result(`${folder}-deep`));
    }
    for (const l of letters) writeFileSync(join(root, `${l}.json`), result(`top-${l}`));
    const { found, problems } = findResults(root);
    expect(problems).toEqual([]);
    // Depth first, each folder's entries by name: 'o.json' < 'ottr-result-a' < 'p.json', 'd.json' < 'deep'.
    const inFolder = (folder: string) =>
      [...letters.map((l) => `${l}.json`), 'deep']
        .sort()
        .map((name) => (name === 'deep' ? `${folder}/deep/x.json` : `${folder}/${name}`));
    const expected = [...letters.map((l) => `${l}.json`), 'ottr-result-b', 'ottr-result-a']
      .sort()
      .flatMap((name) => (name.startsWith('ottr-result-') ? inFolder(name) : [name]));
    expect(expected.slice(14, 17)).toEqual(['o.json', 'ottr-result-a/a.json', 'ottr-result-a/b.json']);
    expect(expected.indexOf('ottr-result-a/deep/x.json')).toBe(expected.indexOf('ottr-result-a/d.json') + 1);
    expect(found.map((f) => f.file)).toEqual(expected);
    expect(found.find((f) => f.file === 'ottr-result-a/deep/x.json')).toEqual({
      file: 'ottr-result-a/deep/x.json',
      artifact: 'ottr-result-a',
      result: JSON.parse(result('ottr-result-a-deep')),
    });
    const top = found.find((f) => f.file === 'a.json')!;
    expect('artifact' in top).toBe(false);
    expect(top).toEqual({ file: 'a.json', result: JSON.parse(result('top-a')) });
  });

  it("sorts by the names' JavaScript string order, not the byte order the folder listing comes in", () => {
    // libuv lists a folder sorted by UTF-8 bytes (U+E000 < U+FF01 < U+1F600); JavaScript compares UTF-16 code
    // units, where a character beyond U+FFFF (a surrogate pair, 0xD8xx) sorts before U+E000.
    const root = join(dir, 'unicode');
    const names = ['a', 'z', '\ue000', '\ufb01', '\uff01', '\u{1d4b3}', '\u{1f600}', 'm', '\u00e9'];
    for (const folder of ['ottr-result-\uff01', 'ottr-result-\u{1f600}', 'ottr-result-a']) {
      mkdirSync(join(root, folder), { recursive: true });
      for (const n of names) writeFileSync(join(root, folder, `${n}.json`), result(`${folder}-${n}`));
    }
    for (const n of names) writeFileSync(join(root, `${n}.json`), result(`top-${n}`));
    const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const files = (folder: string) => [...names].sort(byName).map((n) => `${folder}${n}.json`);
    const folders = ['ottr-result-\uff01', 'ottr-result-\u{1f600}', 'ottr-result-a'];
    const expected = [...names.map((n) => `${n}.json`), ...folders]
      .sort(byName)
      .flatMap((name) => (folders.includes(name) ? files(`${name}/`) : [name]));
    expect(expected.slice(0, 3)).toEqual(['a.json', 'm.json', 'ottr-result-a/a.json']);
    expect(expected.slice(-3)).toEqual(['\ue000.json', '\ufb01.json', '\uff01.json']);
    expect(expected.indexOf('ottr-result-\u{1f600}/a.json')).toBeLessThan(
      expected.indexOf('ottr-result-\uff01/a.json'),
    );
    const { found, problems } = findResults(root);
    expect(problems).toEqual([]);
    expect(found.map((f) => f.file)).toEqual(expected);
    for (const f of found) expect(f.artifact).toBe(f.file.includes('/') ? f.file.split('/')[0] : undefined);
  });

  it('reads only regular files ending in .json: a folder named x.json is walked, .txt and links are not read', () => {
    const root = join(dir, 'kinds');
    mkdirSync(join(root, 'ottr-result-a', 'x.json'), { recursive: true });
    writeFileSync(join(root, 'ottr-result-a', 'x.json', 'inner.json'), result('inner'));
    writeFileSync(join(root, 'ottr-result-a', 'notes.txt'), result('txt'));
    writeFileSync(join(root, 'ottr-result-a', 'a.json.bak'), result('bak'));
    writeFileSync(join(root, 'ottr-result-a', 'json'), result('bare'));
    writeFileSync(join(root, 'target.dat'), result('linked'));
    symlinkSync(join(root, 'target.dat'), join(root, 'ottr-result-a', 'link.json'));
    symlinkSync(join(root, 'missing.dat'), join(root, 'ottr-result-a', 'dangling.json'));
    const { found, problems } = findResults(root);
    expect(found).toEqual([
      {
        file: 'ottr-result-a/x.json/inner.json',
        artifact: 'ottr-result-a',
        result: JSON.parse(result('inner')),
      },
    ]);
    expect(problems).toEqual([]);
  });

  it('a file that is not a result is a problem naming it, never an exception', () => {
    const root = join(dir, 'bad');
    mkdirSync(join(root, 'ottr-result-a'), { recursive: true });
    const files: Record<string, string> = {
      'ottr-result-a/1-broken.json': '{',
      'ottr-result-a/2-null.json': 'null',
      'ottr-result-a/3-schema.json': JSON.stringify({ schema: 'ottr.result/v2', system_name: 'x' }),
      'ottr-result-a/4-name.json': JSON.stringify({ schema: 'ottr.result/v1', system_name: 7 }),
      'ottr-result-a/5-noname.json': JSON.stringify({ schema: 'ottr.result/v1' }),
      'ottr-result-a/6-good.json': result('good'),
    };
    for (const [file, text] of Object.entries(files)) writeFileSync(join(root, file), text);
    const { found, problems } = findResults(root);
    expect(found.map((f) => f.file)).toEqual(['ottr-result-a/6-good.json']);
    expect(problems.map((p) => p.file)).toEqual([
      'ottr-result-a/1-broken.json',
      'ottr-result-a/2-null.json',
      'ottr-result-a/3-schema.json',
      'ottr-result-a/4-name.json',
      'ottr-result-a/5-noname.json',
    ]);
    expect(problems[0]!.message).not.toBe('not an ottr result file');
    expect(problems[0]!.message).toMatch(/JSON/);
    expect(problems.slice(1).map((p) => p.message)).toEqual(Array(4).fill('not an ottr result file'));
  });

  it('an empty folder has no results and no problems', () => {
    mkdirSync(join(dir, 'empty'));
    expect(findResults(join(dir, 'empty'))).toEqual({ found: [], problems: [] });
  });
});

describe('entryDevices: inline devices or the shard an entry points at', () => {
  it('maps each entry id to its inline devices, its shard, or nothing', () => {
    const p = {
      matrix: {
        include: [
          { id: 'inline', devices: ['a', 'b'] },
          { id: 'shard0', shard: 0 },
          { id: 'shard1', shard: 1 },
          { id: 'missing-shard', shard: 7 },
          { id: 'neither' },
          { id: 'both', devices: ['c'], shard: 1 },
        ],
      },
      shards: [{ devices: ['s0'] }, { devices: ['s1', 's1b'] }],
    } as unknown as Plan;
    expect([...entryDevices(p)]).toEqual([
      ['inline', new Set(['a', 'b'])],
      ['shard0', new Set(['s0'])],
      ['shard1', new Set(['s1', 's1b'])],
      ['missing-shard', new Set()],
      ['neither', new Set()],
      ['both', new Set(['c'])],
    ]);
  });

  it('an entry that names no shard takes nothing from the shards, whatever keys they have', () => {
    // A malformed plan whose shards is an object: only an entry's own `shard` may select from it.
    const p = {
      matrix: { include: [{ id: 'neither' }, { id: 'named', shard: 'undefined' }] },
      shards: { undefined: { devices: ['intruder'] } },
    } as unknown as Plan;
    expect([...entryDevices(p)]).toEqual([
      ['neither', new Set()],
      ['named', new Set(['intruder'])],
    ]);
  });

  it('a shard reference without shards, or a plan without a matrix, gives no devices', () => {
    const noShards = { matrix: { include: [{ id: 's', shard: 0 }] } } as unknown as Plan;
    expect([...entryDevices(noShards)]).toEqual([['s', new Set()]]);
    expect(entryDevices({} as unknown as Plan).size).toBe(0);
    expect(entryDevices({ matrix: {} } as unknown as Plan).size).toBe(0);
  });
});

describe('authorityTrust: roots and expected issuers of each authority', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-trust-edges-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("no roots_file means Node's bundled roots; expected_issuers only when it lists any", () => {
    const settings = {
      authorities: {
        bare: { directory: 'x', account_key_secret: 'K' },
        empty: { directory: 'x', account_key_secret: 'K', roots_file: '', expected_issuers: [] },
        listed: { directory: 'x', account_key_secret: 'K', expected_issuers: ['A', 'B'] },
      },
    } as unknown as Settings;
    const t = authorityTrust(dir, settings);
    expect([...t.keys()]).toEqual(['bare', 'empty', 'listed']);
    expect(t.get('bare')).toStrictEqual({ rootsPem: [...rootCertificates] });
    expect(t.get('empty')).toStrictEqual({ rootsPem: [...rootCertificates] });
    expect(t.get('listed')).toStrictEqual({ rootsPem: [...rootCertificates], expectedIssuers: ['A', 'B'] });
    expect(t.get('bare')!.rootsPem.length).toBeGreaterThan(0);
  });

  it('reads the PEM certificates of roots_file; a file without any, or unreadable, is a problem', () => {
    mkdirSync(join(dir, 'routing/dir.pem'), { recursive: true });
    writeFileSync(join(dir, 'routing/roots.pem'), `# our roots\n${ca.rootPem}`);
    writeFileSync(join(dir, 'routing/empty.pem'), 'no certificate here\n');
    const settings = {
      authorities: {
        own: { directory: 'x', account_key_secret: 'K', roots_file: 'routing/roots.pem' },
        issuers: {
          directory: 'x',
          account_key_secret: 'K',
          roots_file: 'routing/roots.pem',
          expected_issuers: ['O'],
        },
        empty: {
          directory: 'x',
          account_key_secret: 'K',
          roots_file: 'routing/empty.pem',
          expected_issuers: ['O'],
        },
        missing: {
          directory: 'x',
          account_key_secret: 'K',
          roots_file: 'routing/nope.pem',
          expected_issuers: ['O'],
        },
        folder: { directory: 'x', account_key_secret: 'K', roots_file: 'routing/dir.pem' },
      },
    } as unknown as Settings;
    const t = authorityTrust(dir, settings);
    expect(t.get('own')).toStrictEqual({ rootsPem: [ca.rootPem] });
    expect(t.get('issuers')).toStrictEqual({ rootsPem: [ca.rootPem], expectedIssuers: ['O'] });
    expect(t.get('empty')).toStrictEqual({
      rootsPem: [],
      problem: 'routing/empty.pem holds no PEM certificate',
    });
    expect(t.get('missing')).toStrictEqual({
      rootsPem: [],
      problem: 'routing/nope.pem cannot be read: ENOENT',
    });
    expect(t.get('folder')).toStrictEqual({
      rootsPem: [],
      problem: 'routing/dir.pem cannot be read: EISDIR',
    });
  });

  it('no settings, or settings without authorities, trust nothing', () => {
    expect(authorityTrust(dir, undefined).size).toBe(0);
    expect(authorityTrust(dir, {} as Settings).size).toBe(0);
  });
});

describe('acceptResults: refusals name the file, the device, the artifact and the reason', () => {
  it('without a plan every result is refused, with the plan problem or a default reason', async () => {
    const { result } = await genuine(FW);
    const failed: RotationResult = {
      schema: 'ottr.result/v1',
      system_name: 'fw-sfo1-02',
      status: 'failed',
      phases: [],
    };
    const { plan: _plan, ...noPlan } = context;
    const found = [inArtifact('fw-sfo1-01', result), { file: 'top.json', result: failed }];
    expect(acceptResults(found, noPlan)).toStrictEqual({
      accepted: [],
      refused: [
        {
          file: 'ottr-result-fw-sfo1-01/fw-sfo1-01.json',
          system_name: 'fw-sfo1-01',
          artifact: 'ottr-result-fw-sfo1-01',
          reason: 'no plan to match it to its job: the plan file was not read',
        },
        {
          file: 'top.json',
          system_name: 'fw-sfo1-02',
          reason: 'no plan to match it to its job: the plan file was not read',
        },
      ],
      removed: [],
      notes: [],
    });
    const out = acceptResults(found, { ...noPlan, planProblem: 'plan.json is not JSON' });
    expect(out.refused.map((r) => r.reason)).toEqual([
      'no plan to match it to its job: plan.json is not JSON',
      'no plan to match it to its job: plan.json is not JSON',
    ]);
  });

  it.each([
    [undefined],
    ['yesterday'],
    [''],
  ])('a plan whose time is %j refuses every result: without it an old certificate would pass as new', async (now) => {
    // A real certificate of the device from a month ago, replayed as this run's.
    const { result } = await genuine(FW, { notBefore: T0 - 30 * DAY, rotatedAt: T0 - MINUTE });
    const withoutTime = { ...plan, now } as unknown as Plan;
    const out = acceptResults([inArtifact('fw-sfo1-01', result)], { ...context, plan: withoutTime });
    expect(out.accepted).toEqual([]);
    expect(out.refused.map((r) => r.reason)).toEqual([
      `no plan to match it to its job: the plan's time ${JSON.stringify(now)} is not a date`,
    ]);
    // The control: with the plan's time, the same replay is refused for its age, and a fresh one accepted.
    const replay = acceptResults([inArtifact('fw-sfo1-01', result)], context);
    expect(replay.refused[0]!.reason).toMatch(/issued before this run/);
    const fresh = await genuine(FW);
    expect(acceptResults([inArtifact('fw-sfo1-01', fresh.result)], context).accepted).toHaveLength(1);
  });

  it('placement refusals carry the artifact and say exactly why', async () => {
    const { result } = await genuine(FW);
    const out = acceptResults(
      [
        { file: 'fw-sfo1-01.json', result },
        { file: 'ottr-result-nojob/fw-sfo1-01.json', artifact: 'ottr-result-nojob', result },
        inArtifact('fw-sfo1-02', result),
      ],
      context,
    );
    expect(out.accepted).toEqual([]);
    expect(out.refused).toStrictEqual([
      {
        file: 'fw-sfo1-01.json',
        system_name: 'fw-sfo1-01',
        reason: "not inside a rotate job's artifact (ottr-result-<entry id>/)",
      },
      {
        file: 'ottr-result-nojob/fw-sfo1-01.json',
        system_name: 'fw-sfo1-01',
        artifact: 'ottr-result-nojob',
        reason: "the artifact ottr-result-nojob belongs to no job of this run's plan",
      },
      {
        file: 'ottr-result-fw-sfo1-02/fw-sfo1-01.json',
        system_name: 'fw-sfo1-01',
        artifact: 'ottr-result-fw-sfo1-02',
        reason: 'the job fw-sfo1-02 was not given fw-sfo1-01: a job reports only on its own devices',
      },
    ]);
  });

  it('an artifact name must start with the prefix, not merely contain it', async () => {
    const { result } = await genuine(FW);
    const out = acceptResults(
      [{ file: 'x-ottr-result-fw-sfo1-01/a.json', artifact: 'x-ottr-result-fw-sfo1-01', result }],
      context,
    );
    expect(out.refused.map((r) => r.reason)).toEqual([
      "not inside a rotate job's artifact (ottr-result-<entry id>/)",
    ]);
  });

  it('refuses an unknown status; a result that is not rotated is accepted without a certificate', async () => {
    const { result } = await genuine(FW);
    const weird = { ...result, status: 'done' } as unknown as RotationResult;
    const skipped = { ...result, system_name: 'fw-sfo1-02', status: 'skipped' } as RotationResult;
    const out = acceptResults([inArtifact('fw-sfo1-01', weird), inArtifact('fw-sfo1-02', skipped)], context);
    expect(out.refused.map((r) => r.reason)).toEqual(['unknown status "done"']);
    const { certificate: _c, ...rest } = skipped;
    expect(out.accepted).toStrictEqual([rest]);
  });

  it('each known status is accepted', () => {
    for (const status of ['failed', 'rolled_back', 'skipped'] as const) {
      const r: RotationResult = { schema: 'ottr.result/v1', system_name: 'fw-sfo1-01', status, phases: [] };
      expect(acceptResults([inArtifact('fw-sfo1-01', r)], context).accepted).toEqual([r]);
    }
  });

  it('refuses a rotated result whose authority is not in settings, or whose roots are unusable', async () => {
    const { result } = await genuine(FW);
    const other = await genuine(FW2);
    const devices = new Map([
      [FW.system_name, device(FW.system_name, namesOf(FW), 'ghost')],
      [FW2.system_name, device(FW2.system_name, namesOf(FW2), 'broken')],
    ]);
    const t = new Map<string, AuthorityTrust>([
      ['lets_encrypt', trust],
      ['broken', { rootsPem: [], problem: 'routing/empty.pem holds no PEM certificate' }],
    ]);
    const out = acceptResults([inArtifact('fw-sfo1-01', result), inArtifact('fw-sfo1-02', other.result)], {
      ...context,
      devices,
      trust: t,
    });
    expect(out.accepted).toEqual([]);
    expect(out.refused.map((r) => r.reason)).toEqual([
      'the authority ghost is not in settings',
      'the roots of broken are unusable: routing/empty.pem holds no PEM certificate',
    ]);
  });

  it('joins every problem of a rotated result into one reason', async () => {
    const { result } = await genuine(FW);
    result.certificate!.issuer = 'CN=Someone Else';
    result.certificate!.rotated_at = 'yesterday';
    const out = acceptResults([inArtifact('fw-sfo1-01', result)], context);
    const leaf = new X509Certificate(
      result.certificate!.pem!.split('-----END CERTIFICATE-----')[0]!.concat('-----END CERTIFICATE-----'),
    );
    expect(out.refused.map((r) => r.reason)).toEqual([
      `the result says issuer CN=Someone Else, the certificate ${leaf.issuer.replace(/\n/g, ',')}; rotated_at yesterday is not within this run`,
    ]);
  });

  it('accepts the genuine result with the derived record and passes its notes on', async () => {
    const { result, notBefore, notAfter } = await genuine(FW);
    result.certificate!.renewal_window = { start: iso(notAfter + 1), end: iso(notAfter + DAY) };
    const two = await genuine(FW2);
    const out = acceptResults(
      [inArtifact('fw-sfo1-01', result), inArtifact('fw-sfo1-02', two.result)],
      context,
    );
    expect(out.refused).toEqual([]);
    expect(out.removed).toEqual([]);
    const { renewal_window: _w, ...certificate } = result.certificate!;
    expect(out.accepted).toStrictEqual([{ ...result, certificate }, two.result]);
    expect(out.accepted[0]!.certificate!.not_before).toBe(iso(notBefore));
    expect(out.notes).toStrictEqual([
      {
        system_name: 'fw-sfo1-01',
        message: `its ARI renewal window (${iso(notAfter + 1)} to ${iso(notAfter + DAY)}) is not inside the certificate's validity and is not recorded`,
      },
    ]);
  });

  it('the backdating floor is the earlier of the plan time and the clock, less two hours exactly', async () => {
    const { result, notBefore } = await genuine(FW, { notBefore: T0 - 3 * HOUR });
    const at = (planNow: number, now = T0) =>
      acceptResults([inArtifact('fw-sfo1-01', result)], {
        ...context,
        plan: { ...plan, now: iso(planNow) },
        now: new Date(now),
      });
    expect(BACKDATE_ALLOWANCE_MS).toBe(2 * HOUR);
    expect(at(notBefore + 2 * HOUR).refused).toEqual([]);
    expect(at(notBefore + 2 * HOUR + 1).refused.map((r) => r.reason)).toEqual([
      `the certificate was issued before this run (not_before ${iso(notBefore)}, earlier than ${iso(notBefore + 1)}): an old certificate is not a rotation`,
    ]);
    // The clock earlier than the plan: the clock sets the floor.
    expect(at(T0 + DAY, notBefore + 2 * HOUR).refused).toEqual([]);
    expect(at(T0 + DAY, notBefore + 2 * HOUR + 1).refused).toHaveLength(1);
    expect(at(notBefore + 2 * HOUR, T0 + DAY).refused).toEqual([]);
  });

  it('describeRefusal says where, whose and why', () => {
    expect(
      describeRefusal({
        file: 'ottr-result-a/x.json',
        system_name: 'x',
        artifact: 'ottr-result-a',
        reason: 'r',
      }),
    ).toBe('ottr-result-a/x.json: the result for x is refused: r');
  });
});

describe('certificateEvidence: what the certificate proves, at each boundary', () => {
  it('a result without a usable certificate.pem proves nothing', async () => {
    const { result } = await genuine(FW);
    const none = 'a rotated result without certificate.pem (the issued chain) proves nothing';
    const { certificate, ...noCert } = result;
    expect(evidence(noCert as RotationResult, T0)).toEqual({ problems: [none] });
    const withPem = (pem: unknown) =>
      evidence({ ...result, certificate: { ...certificate!, pem } } as RotationResult, T0);
    expect(withPem(undefined)).toEqual({ problems: [none] });
    expect(withPem('')).toEqual({ problems: [none] });
    expect(withPem(42)).toEqual({ problems: [none] });
    expect(withPem(['x'])).toEqual({ problems: [none] });
    expect(withPem('no certificate in here')).toEqual({ problems: ['certificate.pem holds no certificate'] });
    expect(withPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toEqual({
      problems: [expect.stringMatching(/^certificate\.pem does not parse: .+/)],
    });
  });

  it('returns the leaf-derived record, rotated_at and the pem as given', async () => {
    const { result, notBefore, notAfter, leaf } = await genuine(FW, { rotatedAt: T0 - 30 * MINUTE + 123 });
    const e = evidence(result, T0);
    const node = new X509Certificate(leaf.toString('pem'));
    expect(e).toStrictEqual({
      certificate: {
        serial: node.serialNumber.toLowerCase(),
        not_before: iso(notBefore),
        not_after: iso(notAfter),
        issuer: node.issuer.replace(/\n/g, ','),
        sha256_fingerprint: node.fingerprint256,
        rotated_at: iso(T0 - 30 * MINUTE + 123),
        pem: result.certificate!.pem,
      },
      notes: [],
    });
    expect((e as { certificate: { issuer: string } }).certificate.issuer).toBe(
      "CN=Test E7,O=Let's Encrypt,C=US",
    );
  });

  it('refuses a leaf that is a CA certificate', async () => {
    const { result } = await genuine(FW, { ca: true });
    expect(evidence(result, T0)).toEqual({ problems: ['the leaf is a CA certificate'] });
  });

  it('refuses a leaf that does not cover a name of the device', async () => {
    const { result } = await genuine(FW2);
    expect(problemsOf(evidence(result, T0))).toEqual([
      'the certificate does not cover fw-sfo1-01.mgmt.example.com',
      'the certificate does not cover vpn-sfo1.example.com',
    ]);
  });

  it('not_before exactly at the floor is accepted, one millisecond before it refused', async () => {
    const { result, notBefore } = await genuine(FW);
    expect(problemsOf(evidence(result, T0, notBefore))).toEqual([]);
    expect(problemsOf(evidence(result, T0, notBefore + 1))).toEqual([
      `the certificate was issued before this run (not_before ${iso(notBefore)}, earlier than ${iso(notBefore + 1)}): an old certificate is not a rotation`,
    ]);
  });

  it('a leaf starting up to five minutes ahead of the clock is accepted, beyond that it is not valid yet', async () => {
    const { result, notBefore } = await genuine(FW, { notBefore: T0 - 10 * MINUTE });
    expect(problemsOf(evidence(result, notBefore - SKEW))).toEqual([]);
    expect(problemsOf(evidence(result, notBefore - SKEW - 1))).toEqual([
      `the certificate is not valid before ${iso(notBefore)}`,
      `rotated_at ${iso(notBefore)} is not within this run`,
    ]);
  });

  it('a leaf is expired at exactly its not_after', async () => {
    const { result, notAfter } = await genuine(FW, { days: 1 });
    expect(problemsOf(evidence(result, notAfter - 1))).toEqual([]);
    expect(problemsOf(evidence(result, notAfter))).toEqual([`the certificate expired at ${iso(notAfter)}`]);
  });

  it('every intermediate must be a CA valid now, each boundary exact', async () => {
    const from = T0 - 2 * HOUR;
    const to = T0 + 30 * DAY;
    const mid = await ca.intermediateCa({
      name: 'Test E9',
      notBefore: new Date(from),
      notAfter: new Date(to),
    });
    const { result } = await genuine(FW, { notBefore: T0 - 3 * HOUR, signer: mid });
    const subject = "CN=Test E9, O=Let's Encrypt, C=US";
    const node = new X509Certificate(mid.cert.toString('pem'));
    const notValid = `the intermediate ${subject} is not valid now (valid from ${node.validFrom} to ${node.validTo})`;
    // Judged at the report's clock (`now`), with the report's five minutes of skew.
    expect(problemsOf(evidence(result, from - SKEW))).toEqual([]);
    expect(problemsOf(evidence(result, from - SKEW - 1))).toEqual([notValid]);
    expect(problemsOf(evidence(result, to - 1))).toEqual([]);
    expect(problemsOf(evidence(result, to))).toEqual([notValid]);
  });

  it('names an intermediate that is not a CA', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const notCa = await x509.X509CertificateGenerator.create({
      serialNumber: '7e000002',
      subject: 'CN=Plain Leaf,O=Someone',
      issuer: ca.intermediate.cert.subject,
      notBefore: new Date(T0 - DAY),
      notAfter: new Date(T0 + 90 * DAY),
      publicKey: keys.publicKey,
      signingKey: ca.intermediate.keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    });
    const made = await ca.issue(namesOf(FW), {
      signer: { cert: notCa, keys },
      intermediates: [notCa, ca.intermediate.cert],
    });
    const result = rotatedResult('fw-sfo1-01', made.pem, new Date(T0));
    expect(problemsOf(evidence(result, T0))).toEqual([
      'CN=Plain Leaf, O=Someone in the chain is not a CA certificate',
    ]);
  });

  it('expected issuers: none listed accepts any organisation; listed ones must include the leaf issuer', async () => {
    const { result } = await genuine(FW);
    const roots = [ca.rootPem];
    expect(problemsOf(evidence(result, T0, 0, { rootsPem: roots, expectedIssuers: [] }))).toEqual([]);
    expect(
      problemsOf(evidence(result, T0, 0, { rootsPem: roots, expectedIssuers: ['X', "Let's Encrypt"] })),
    ).toEqual([]);
    expect(problemsOf(evidence(result, T0, 0, { rootsPem: roots, expectedIssuers: ['A', 'B'] }))).toEqual([
      "the issuer organisation Let's Encrypt is not one of A, B",
    ]);
    const noOrg = await intermediate('CN=No Organisation,C=US');
    const bare = await genuine(FW, { signer: noOrg });
    expect(problemsOf(evidence(bare.result, T0, 0, { rootsPem: roots }))).toEqual([]);
    expect(
      problemsOf(evidence(bare.result, T0, 0, { rootsPem: roots, expectedIssuers: ['A', 'B'] })),
    ).toEqual(['the issuer organisation (none) is not one of A, B']);
  });

  it('roots that do not parse refuse the result with that reason alone', async () => {
    const { result } = await genuine(FW);
    result.certificate!.serial = 'ff';
    expect(
      evidence(result, T0, 0, {
        rootsPem: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
      }),
    ).toEqual({
      problems: [expect.stringMatching(/^the authority's roots do not parse: .+/)],
    });
  });

  it("chain problems are about certificate.pem's chain, without the served-chain hint", async () => {
    const self = rotatedResult(
      'fw-sfo1-01',
      await selfSignedPem(namesOf(FW), new Date(T0 - HOUR)),
      new Date(T0),
    );
    expect(problemsOf(evidence(self, T0))).toEqual([
      "certificate.pem's chain does not lead to a root of the authority",
    ]);
    const other = await TestCa.create();
    const { result } = await genuine(FW);
    const pem = `${result.certificate!.pem!.split('-----END CERTIFICATE-----')[0]}-----END CERTIFICATE-----\n${other.intermediate.cert.toString('pem')}\n`;
    const broken = rotatedResult('fw-sfo1-01', pem, new Date(T0 - HOUR));
    expect(problemsOf(evidence(broken, T0))).toEqual([
      "certificate.pem's chain is broken after CN=fw-sfo1-01.mgmt.example.com",
    ]);
  });

  it('only a trailing served-chain hint is removed, not the same words inside a subject', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: '7e000003',
      subject: 'CN=evil (is the intermediate missing?),O=Evil',
      issuer: ca.intermediate.cert.subject,
      notBefore: new Date(T0 - HOUR),
      notAfter: new Date(T0 + 90 * DAY),
      publicKey: keys.publicKey,
      signingKey: ca.intermediate.keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'fw-sfo1-02.mgmt.example.com' }]),
      ],
    });
    const other = await TestCa.create();
    const pem = `${leaf.toString('pem')}\n${other.intermediate.cert.toString('pem')}\n`;
    const result = rotatedResult('fw-sfo1-02', pem, new Date(T0));
    expect(problemsOf(evidence(result, T0, 0, trust, FW2))).toEqual([
      "certificate.pem's chain is broken after CN=evil (is the intermediate missing?), O=Evil",
    ]);
  });

  it('serial: colons, case and leading zeros do not matter; another serial is refused, naming it', async () => {
    const { result } = await genuine(FW);
    const serial = result.certificate!.serial;
    const claim = (value: unknown) =>
      problemsOf(
        evidence({ ...result, certificate: { ...result.certificate!, serial: value } } as RotationResult, T0),
      );
    expect(
      claim(`00${serial.toUpperCase().match(/../g)!.join(':')}${serial.length % 2 ? serial.slice(-1) : ''}`),
    ).toEqual([]);
    expect(claim(`0:${serial.toUpperCase()}`)).toEqual([]);
    expect(claim(`${serial}1`)).toEqual([`the result says serial ${serial}1, the certificate ${serial}`]);
    expect(claim(123)).toEqual([`the result says serial 123, the certificate ${serial}`]);
  });

  it('the derived serial is lower case hex', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: '7abcdef0',
      subject: 'CN=fw-sfo1-02.mgmt.example.com',
      issuer: ca.intermediate.cert.subject,
      notBefore: new Date(T0 - HOUR),
      notAfter: new Date(T0 + 90 * DAY),
      publicKey: keys.publicKey,
      signingKey: ca.intermediate.keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'fw-sfo1-02.mgmt.example.com' }]),
      ],
    });
    const pem = `${leaf.toString('pem')}\n${ca.intermediate.cert.toString('pem')}\n`;
    const result = rotatedResult('fw-sfo1-02', pem, new Date(T0));
    const e = evidence(result, T0, 0, trust, FW2);
    expect(problemsOf(e)).toEqual([]);
    expect((e as { certificate: { serial: string } }).certificate.serial).toBe('7abcdef0');
  });

  it('not_before and not_after: under a second apart is the same instant, a second is not', async () => {
    const { result, notBefore, notAfter } = await genuine(FW);
    const claim = (field: 'not_before' | 'not_after', value: unknown) =>
      problemsOf(
        evidence(
          { ...result, certificate: { ...result.certificate!, [field]: value } } as RotationResult,
          T0,
        ),
      );
    for (const [field, real] of [
      ['not_before', notBefore],
      ['not_after', notAfter],
    ] as const) {
      expect(claim(field, iso(real + 999))).toEqual([]);
      expect(claim(field, iso(real - 999))).toEqual([]);
      expect(claim(field, iso(real + 1000))).toEqual([
        `the result says ${field} ${iso(real + 1000)}, the certificate ${iso(real)}`,
      ]);
      expect(claim(field, iso(real - 1000))).toEqual([
        `the result says ${field} ${iso(real - 1000)}, the certificate ${iso(real)}`,
      ]);
      expect(claim(field, 5)).toEqual([`the result says ${field} 5, the certificate ${iso(real)}`]);
    }
    const e = evidence(
      {
        ...result,
        certificate: { ...result.certificate!, not_before: iso(notBefore + 999) },
      } as RotationResult,
      T0,
    );
    expect((e as { certificate: { not_before: string } }).certificate.not_before).toBe(iso(notBefore));
  });

  it('issuer must match exactly; the fingerprint in any case', async () => {
    const { result } = await genuine(FW);
    const { issuer, sha256_fingerprint: fingerprint } = result.certificate!;
    const claim = (field: 'issuer' | 'sha256_fingerprint', value: unknown) =>
      problemsOf(
        evidence(
          { ...result, certificate: { ...result.certificate!, [field]: value } } as RotationResult,
          T0,
        ),
      );
    expect(claim('issuer', issuer.toLowerCase())).toEqual([
      `the result says issuer ${issuer.toLowerCase()}, the certificate ${issuer}`,
    ]);
    expect(claim('issuer', false)).toEqual([`the result says issuer false, the certificate ${issuer}`]);
    expect(claim('sha256_fingerprint', fingerprint.toLowerCase())).toEqual([]);
    const other = fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00');
    expect(claim('sha256_fingerprint', other)).toEqual([
      `the result says sha256_fingerprint ${other}, the certificate ${fingerprint}`,
    ]);
    const e = evidence(
      {
        ...result,
        certificate: { ...result.certificate!, sha256_fingerprint: fingerprint.toLowerCase() },
      } as RotationResult,
      T0,
    );
    expect((e as { certificate: { sha256_fingerprint: string } }).certificate.sha256_fingerprint).toBe(
      fingerprint,
    );
  });

  it('rotated_at from not_before to five minutes past the clock; anything else is not this run', async () => {
    const { result, notBefore } = await genuine(FW);
    const at = (value: unknown) =>
      problemsOf(
        evidence(
          { ...result, certificate: { ...result.certificate!, rotated_at: value } } as RotationResult,
          T0,
        ),
      );
    expect(at(iso(notBefore))).toEqual([]);
    expect(at(iso(notBefore - 1))).toEqual([`rotated_at ${iso(notBefore - 1)} is not within this run`]);
    expect(at(iso(T0 + SKEW))).toEqual([]);
    expect(at(iso(T0 + SKEW + 1))).toEqual([`rotated_at ${iso(T0 + SKEW + 1)} is not within this run`]);
    expect(at('not a date')).toEqual(['rotated_at not a date is not within this run']);
    expect(at(undefined)).toEqual(['rotated_at undefined is not within this run']);
  });

  it('a renewal window is kept only inside the validity, each boundary exact', async () => {
    const { result, notBefore, notAfter } = await genuine(FW);
    const withWindow = (start: number, end: number) =>
      evidence(
        {
          ...result,
          certificate: { ...result.certificate!, renewal_window: { start: iso(start), end: iso(end) } },
        },
        T0,
      ) as { certificate: RotationResult['certificate'] & object; notes: string[] };
    const kept = (start: number, end: number) => {
      const e = withWindow(start, end);
      expect(e.notes).toEqual([]);
      expect(e.certificate.renewal_window).toStrictEqual({ start: iso(start), end: iso(end) });
    };
    const dropped = (start: number, end: number) => {
      const e = withWindow(start, end);
      expect('problems' in e).toBe(false);
      expect('renewal_window' in e.certificate).toBe(false);
      expect(e.notes).toEqual([
        `its ARI renewal window (${iso(start)} to ${iso(end)}) is not inside the certificate's validity and is not recorded`,
      ]);
    };
    kept(notBefore, notAfter);
    kept(notBefore + DAY, notBefore + DAY);
    dropped(notBefore - 1, notAfter);
    dropped(notBefore, notAfter + 1);
    dropped(notBefore + DAY + 1, notBefore + DAY);
    const { renewal_window: _w, ...noWindow } = result.certificate!;
    const plain = evidence({ ...result, certificate: noWindow }, T0) as {
      certificate: object;
      notes: string[];
    };
    expect('renewal_window' in plain.certificate).toBe(false);
    expect(plain.notes).toEqual([]);
  });
});
