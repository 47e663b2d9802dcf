import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AcceptContext,
  type AuthorityTrust,
  acceptResults,
  authorityTrust,
  type FoundResult,
  findResults,
} from '../../src/gitops/accept-results.ts';
import type { RotationResult } from '../../src/model/results.ts';
import type { Device, Settings } from '../../src/model/types.ts';
import type { Plan } from '../../src/plan/build-plan.ts';
import { rotatedResult, selfSignedPem, TestCa } from '../helpers/test-ca.ts';

const HOUR = 3_600_000;
const NOW = new Date();
const PLAN_NOW = new Date(NOW.getTime() - 20 * 60_000);

const device = (name: string, dc: string, names: string[]): Device =>
  ({
    system_name: name,
    common_name: names[0]!,
    subject_alternative_names: names.slice(1),
    host_platform: 'panos',
    os_version: '10.2.4',
    device_model: 'PA-3220',
    data_center: dc,
    certificate_authority: 'lets_encrypt',
    connection: { credentials: 'X' },
  }) as Device;

const FW = device('fw-sfo1-01', 'sfo1', ['fw-sfo1-01.mgmt.example.com', 'vpn-sfo1.example.com']);
const LB = device('lb-ams2-01', 'ams2', ['lb-ams2-01.mgmt.example.com']);
const FW2 = device('fw-sfo1-02', 'sfo1', ['fw-sfo1-02.mgmt.example.com']);
const namesOf = (d: Device) => [d.common_name, ...(d.subject_alternative_names ?? [])];

/** Two jobs: fw-sfo1-01 inline, and a shard (devices in plan.shards) with lb-ams2-01; fw-sfo1-02 inline too. */
const plan = {
  version: 1,
  now: PLAN_NOW.toISOString(),
  matrix: {
    include: [
      { id: 'fw-sfo1-01', devices: ['fw-sfo1-01'], data_center: 'sfo1' },
      { id: 'fw-sfo1-02', devices: ['fw-sfo1-02'], data_center: 'sfo1' },
      { id: 'shard-001', devices_file: 'plan.json', shard: 0, data_center: 'ams2' },
    ],
  },
  shards: [{ id: 'shard-001', devices: ['lb-ams2-01'], data_center: 'ams2' }],
} as unknown as Plan;

let ca: TestCa;
let trust: Map<string, AuthorityTrust>;
let context: AcceptContext;

beforeAll(async () => {
  ca = await TestCa.create();
  trust = new Map([['lets_encrypt', { rootsPem: [ca.rootPem], expectedIssuers: ["Let's Encrypt"] }]]);
  context = {
    plan,
    devices: new Map([FW, LB, FW2].map((d) => [d.system_name, d])),
    trust,
    now: NOW,
  };
});

const inArtifact = (id: string, result: RotationResult): FoundResult => ({
  file: `ottr-result-${id}/${result.system_name}.json`,
  artifact: `ottr-result-${id}`,
  result,
});
const genuine = async (d: Device, options: Parameters<TestCa['issue']>[1] = {}) =>
  rotatedResult(d.system_name, (await ca.issue(namesOf(d), options)).pem);

describe('acceptResults: only what the right job proves is recorded', () => {
  it('accepts a genuine result from its own job, inline or sharded, with the record taken from the leaf', async () => {
    const fw = await genuine(FW);
    const lb = await genuine(LB);
    const out = acceptResults([inArtifact('fw-sfo1-01', fw), inArtifact('shard-001', lb)], context);
    expect(out.refused).toEqual([]);
    expect(out.accepted.map((r) => r.system_name)).toEqual(['fw-sfo1-01', 'lb-ams2-01']);
    expect(out.accepted[0]!.certificate).toMatchObject({
      serial: fw.certificate!.serial,
      not_after: fw.certificate!.not_after,
      sha256_fingerprint: fw.certificate!.sha256_fingerprint,
    });
  });

  it("refuses a forged result for another job's device placed in job X's artifact", async () => {
    // The sfo1 runner is compromised: it writes a result for the ams2 device into its own artifact.
    const forged = await genuine(LB);
    const out = acceptResults([inArtifact('fw-sfo1-01', forged)], context);
    expect(out.accepted).toEqual([]);
    expect(out.refused).toEqual([
      expect.objectContaining({
        system_name: 'lb-ams2-01',
        reason: expect.stringContaining('the job fw-sfo1-01 was not given lb-ams2-01'),
      }),
    ]);
  });

  it('refuses results outside any job artifact, or in an artifact no job of the plan has', async () => {
    const fw = await genuine(FW);
    const out = acceptResults(
      [
        { file: 'fw-sfo1-01.json', result: fw },
        { file: 'ottr-result-extra/fw-sfo1-01.json', artifact: 'ottr-result-extra', result: fw },
        { file: 'other/fw-sfo1-01.json', artifact: 'other', result: fw },
      ],
      context,
    );
    expect(out.accepted).toEqual([]);
    expect(out.refused.map((r) => r.reason)).toEqual([
      expect.stringContaining("not inside a rotate job's artifact"),
      expect.stringContaining('belongs to no job'),
      expect.stringContaining("not inside a rotate job's artifact"),
    ]);
  });

  it('failed, rolled back and skipped results also count only from their own job', () => {
    const failed: RotationResult = {
      schema: 'ottr.result/v1',
      system_name: 'lb-ams2-01',
      status: 'failed',
      phases: [],
      error: { phase: 'install', class: 'install_failed', message: 'no' },
    };
    const out = acceptResults([inArtifact('fw-sfo1-01', failed), inArtifact('shard-001', failed)], context);
    expect(out.refused).toHaveLength(1);
    expect(out.accepted).toEqual([failed]);
  });

  it('a device with two results in its job is believed for neither', async () => {
    const a = await genuine(FW);
    const b = await genuine(FW);
    const out = acceptResults(
      [
        inArtifact('fw-sfo1-01', a),
        { ...inArtifact('fw-sfo1-01', b), file: 'ottr-result-fw-sfo1-01/x/b.json' },
      ],
      context,
    );
    expect(out.accepted).toEqual([]);
    expect(out.refused.map((r) => r.reason)).toEqual([
      '2 results for fw-sfo1-01: none is believed',
      '2 results for fw-sfo1-01: none is believed',
    ]);
  });

  it('refuses a result whose JSON says not_after 2099 while its certificate says otherwise', async () => {
    const result = await genuine(FW);
    const real = result.certificate!.not_after;
    result.certificate!.not_after = '2099-01-01T00:00:00Z';
    const out = acceptResults([inArtifact('fw-sfo1-01', result)], context);
    expect(out.accepted).toEqual([]);
    expect(out.refused[0]!.reason).toContain(
      `the result says not_after 2099-01-01T00:00:00Z, the certificate ${real}`,
    );
  });

  it('fills what the JSON leaves out from the certificate', async () => {
    const result = await genuine(FW);
    const { pem, rotated_at } = result.certificate!;
    const bare = { ...result, certificate: { pem, rotated_at } } as unknown as RotationResult;
    const out = acceptResults([inArtifact('fw-sfo1-01', bare)], context);
    expect(out.refused).toEqual([]);
    expect(out.accepted[0]!.certificate).toMatchObject({
      serial: result.certificate!.serial,
      not_before: result.certificate!.not_before,
      not_after: result.certificate!.not_after,
      issuer: result.certificate!.issuer,
      sha256_fingerprint: result.certificate!.sha256_fingerprint,
    });
  });

  it('refuses a rotated result without certificate.pem, or with one that does not parse', async () => {
    const result = await genuine(FW);
    const { pem: _pem, ...noPem } = result.certificate!;
    const broken = {
      ...result.certificate!,
      pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    };
    const out = acceptResults(
      [
        inArtifact('fw-sfo1-01', { ...result, certificate: noPem }),
        inArtifact('fw-sfo1-02', { ...result, system_name: 'fw-sfo1-02', certificate: broken }),
      ],
      context,
    );
    expect(out.accepted).toEqual([]);
    expect(out.refused[0]!.reason).toContain('without certificate.pem');
    expect(out.refused[1]!.reason).toContain('does not parse');
  });

  it('refuses a self-signed certificate and one from another CA', async () => {
    const selfSigned = rotatedResult('fw-sfo1-01', await selfSignedPem(namesOf(FW)));
    const other = await TestCa.create();
    const foreign = rotatedResult('fw-sfo1-02', (await other.issue(namesOf(FW2))).pem);
    const out = acceptResults(
      [inArtifact('fw-sfo1-01', selfSigned), inArtifact('fw-sfo1-02', foreign)],
      context,
    );
    expect(out.accepted).toEqual([]);
    for (const r of out.refused) expect(r.reason).toContain('does not lead to a root of the authority');
  });

  it('refuses a leaf used as an intermediate to sign a made-up certificate', async () => {
    // Any subscriber of the CA holds a real leaf and its key; a chain through it verifies by signature alone.
    const ownLeafKeys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const x509 = await import('@peculiar/x509');
    const subscriber = await x509.X509CertificateGenerator.create({
      serialNumber: '7fff0001',
      subject: 'CN=attacker.example.net',
      issuer: ca.intermediate.cert.subject,
      notBefore: new Date(NOW.getTime() - HOUR),
      notAfter: new Date(NOW.getTime() + 90 * 24 * HOUR),
      publicKey: ownLeafKeys.publicKey,
      signingKey: ca.intermediate.keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    });
    const made = await ca.issue(namesOf(FW), { signer: { cert: subscriber, keys: ownLeafKeys } });
    const pem = `${made.leaf.toString('pem')}\n${subscriber.toString('pem')}\n${ca.intermediate.cert.toString('pem')}\n`;
    const out = acceptResults([inArtifact('fw-sfo1-01', rotatedResult('fw-sfo1-01', pem))], context);
    expect(out.accepted).toEqual([]);
    expect(out.refused[0]!.reason).toContain('CN=attacker.example.net in the chain is not a CA certificate');
  });

  it('refuses an old certificate (issued before the plan ran, less the CA backdating allowance)', async () => {
    const old = await genuine(FW, { notBefore: new Date(PLAN_NOW.getTime() - 3 * HOUR) });
    old.certificate!.rotated_at = NOW.toISOString();
    const backdated = await genuine(FW2, { notBefore: new Date(PLAN_NOW.getTime() - HOUR) });
    const out = acceptResults([inArtifact('fw-sfo1-01', old), inArtifact('fw-sfo1-02', backdated)], context);
    expect(out.accepted.map((r) => r.system_name)).toEqual(['fw-sfo1-02']);
    expect(out.refused[0]!.reason).toContain('issued before this run');
  });

  it('a plan dated ahead of the clock (the now input) does not refuse a certificate issued during the run', async () => {
    const ahead = { ...plan, now: new Date(NOW.getTime() + 20 * 24 * HOUR).toISOString() } as Plan;
    const out = acceptResults([inArtifact('fw-sfo1-01', await genuine(FW))], { ...context, plan: ahead });
    expect(out.refused).toEqual([]);
  });

  it("refuses a certificate that does not cover the device's names", async () => {
    const result = rotatedResult('fw-sfo1-01', (await ca.issue(['fw-sfo1-01.mgmt.example.com'])).pem);
    const out = acceptResults([inArtifact('fw-sfo1-01', result)], context);
    expect(out.refused[0]!.reason).toBe('the certificate does not cover vpn-sfo1.example.com');
  });

  it('refuses an issuer organisation the authority does not expect', async () => {
    const evil = await TestCa.create({ organisation: 'Evil Corp' });
    const result = rotatedResult('fw-sfo1-01', (await evil.issue(namesOf(FW))).pem);
    const out = acceptResults([inArtifact('fw-sfo1-01', result)], {
      ...context,
      trust: new Map([['lets_encrypt', { rootsPem: [evil.rootPem], expectedIssuers: ["Let's Encrypt"] }]]),
    });
    expect(out.refused[0]!.reason).toContain("the issuer organisation Evil Corp is not one of Let's Encrypt");
  });

  it('bounds what only the JSON knows: rotated_at within the run, an ARI window inside the validity', async () => {
    const early = await genuine(FW);
    early.certificate!.rotated_at = '2020-01-01T00:00:00Z';
    const windowed = await genuine(FW2);
    windowed.certificate!.renewal_window = { start: '2099-01-01T00:00:00Z', end: '2099-01-02T00:00:00Z' };
    const out = acceptResults([inArtifact('fw-sfo1-01', early), inArtifact('fw-sfo1-02', windowed)], context);
    expect(out.refused[0]!.reason).toContain('rotated_at 2020-01-01T00:00:00Z is not within this run');
    expect(out.accepted[0]!.certificate!.renewal_window).toBeUndefined();
    expect(out.notes[0]!.message).toContain('is not recorded');
  });

  it('without a plan nothing is accepted', async () => {
    const { plan: _plan, ...withoutPlan } = context;
    const out = acceptResults([inArtifact('fw-sfo1-01', await genuine(FW))], {
      ...withoutPlan,
      planProblem: 'the plan file plan.json is missing',
    });
    expect(out.accepted).toEqual([]);
    expect(out.refused[0]!.reason).toContain('the plan file plan.json is missing');
  });

  it('a result for a device gone from the inventory is neither recorded nor refused', async () => {
    const out = acceptResults([inArtifact('fw-sfo1-01', await genuine(FW))], {
      ...context,
      devices: new Map(),
    });
    expect(out).toMatchObject({ accepted: [], refused: [], removed: ['fw-sfo1-01'] });
  });
});

describe('reading results and roots', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-accept-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('findResults names the artifact folder of each file', () => {
    mkdirSync(join(dir, 'results/ottr-result-a/nested'), { recursive: true });
    const r = { schema: 'ottr.result/v1', system_name: 'a', status: 'failed', phases: [] };
    writeFileSync(join(dir, 'results/ottr-result-a/nested/a.json'), JSON.stringify(r));
    writeFileSync(join(dir, 'results/top.json'), JSON.stringify(r));
    writeFileSync(join(dir, 'results/ottr-result-a/junk.json'), '{');
    const { found, problems } = findResults(join(dir, 'results'));
    expect(found.map((f) => [f.file, f.artifact])).toEqual([
      ['ottr-result-a/nested/a.json', 'ottr-result-a'],
      ['top.json', undefined],
    ]);
    expect(problems.map((p) => p.file)).toEqual(['ottr-result-a/junk.json']);
  });

  it("authorityTrust reads roots_file, falls back to Node's roots, and reports an unreadable file", () => {
    mkdirSync(join(dir, 'routing'), { recursive: true });
    writeFileSync(join(dir, 'routing/roots.pem'), ca.rootPem);
    const settings = {
      authorities: {
        own: {
          directory: 'x',
          account_key_secret: 'K',
          roots_file: 'routing/roots.pem',
          expected_issuers: ['O'],
        },
        public: { directory: 'x', account_key_secret: 'K' },
        missing: { directory: 'x', account_key_secret: 'K', roots_file: 'routing/nope.pem' },
      },
    } as unknown as Settings;
    const trust = authorityTrust(dir, settings);
    expect(trust.get('own')).toEqual({ rootsPem: [ca.rootPem], expectedIssuers: ['O'] });
    expect(trust.get('public')!.rootsPem).toEqual([...rootCertificates]);
    expect(trust.get('missing')!.problem).toMatch(/routing\/nope.pem cannot be read: ENOENT/);
  });

  it("a certificate of the test CA does not chain to Node's public roots", async () => {
    const out = acceptResults([inArtifact('fw-sfo1-01', await genuine(FW))], {
      ...context,
      trust: new Map([['lets_encrypt', { rootsPem: [...rootCertificates] }]]),
    });
    expect(out.refused[0]!.reason).toContain('does not lead to a root of the authority');
  });
});
