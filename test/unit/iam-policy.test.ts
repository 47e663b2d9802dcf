import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TAG_PREFIX } from '../../src/sync/aws-ssm.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';

type Values = string | string[];
interface Statement {
  Sid: string;
  Effect: string;
  Action: Values;
  Resource: Values;
  Condition?: Record<string, Record<string, Values>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

const docs = join(PROJECT_ROOT, 'docs');
const load = (file: string) => JSON.parse(readFileSync(join(docs, file), 'utf8')) as Policy;
const list = (v: Values) => (Array.isArray(v) ? v : [v]);
const actions = (s: Statement) => list(s.Action);
const resources = (s: Statement) => list(s.Resource);

/** The delegate zone's Route53 permissions: attached to every data center's rotate role. */
const policy = load('iam-policy.json');
/** One SSM policy per data center (docs/iam-policy-ssm-<data_center>.json), attached to that data center's role. */
const ssmPolicies = new Map(
  readdirSync(docs)
    .map((f) => /^iam-policy-ssm-([a-z0-9][a-z0-9._-]*)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, load(m[0])]),
);
/** The weekly discovery job's role (sync.yml, vars.OTTR_SYNC_ROLE_ARN). */
const syncPolicy = load('iam-policy-sync.json');

// --- A small evaluator of identity policies, enough for these documents: Allow statements, Action and Resource
// with * and ? wildcards (IAM User Guide, "IAM JSON policy elements: Resource" / "Action"), and the condition
// operators used here (IAM User Guide, "Condition operators" and "Single-valued vs. multivalued context keys":
// StringEquals/StringLike need the key present; ForAllValues:… is true for a missing or empty key). Anything else
// fails the test, so a new operator cannot slip in unexamined.
const glob = (pattern: string, flags = '') =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    flags,
  );
type Context = Record<string, string | string[]>;

function conditionHolds(condition: Statement['Condition'], context: Context): boolean {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const wanted = list(expected);
      const given = context[key];
      const like = (v: string) => wanted.some((w) => glob(w).test(v));
      const equal = (v: string) => wanted.includes(v);
      switch (operator) {
        case 'StringEquals':
          if (typeof given !== 'string' || !equal(given)) return false;
          break;
        case 'StringLike':
          if (typeof given !== 'string' || !like(given)) return false;
          break;
        case 'ForAllValues:StringEquals':
          if (!list(given ?? []).every(equal)) return false;
          break;
        case 'ForAllValues:StringLike':
          if (!list(given ?? []).every(like)) return false;
          break;
        default:
          throw new Error(`the test's evaluator does not know the condition operator ${operator}`);
      }
    }
  }
  return true;
}

function allows(policies: Policy[], action: string, resource: string, context: Context = {}): boolean {
  return policies.some((p) =>
    p.Statement.some(
      (s) =>
        s.Effect === 'Allow' &&
        actions(s).some((a) => glob(a, 'i').test(action)) &&
        resources(s).some((r) => glob(r).test(resource)) &&
        conditionHolds(s.Condition, context),
    ),
  );
}

/** Whether any statement of the policies names the action (for any resource, under any condition). */
const names = (policies: Policy[], action: string) =>
  policies.some((p) => p.Statement.some((s) => actions(s).some((a) => glob(a, 'i').test(action))));

// --- The AWS calls the code makes: every `new XxxCommand(` of an @aws-sdk client, by source file.
const IAM_PREFIX: Record<string, string> = { 'route-53': 'route53', ssm: 'ssm', ec2: 'ec2' };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function awsCalls(): { file: string; action: string }[] {
  const calls: { file: string; action: string }[] = [];
  for (const path of sourceFiles(join(PROJECT_ROOT, 'src'))) {
    const text = readFileSync(path, 'utf8');
    const file = relative(PROJECT_ROOT, path);
    const imports = [...text.matchAll(/import\s*{([^}]*)}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g)];
    for (const [, imported, client] of imports) {
      const prefix = IAM_PREFIX[client!];
      if (!prefix) throw new Error(`${file} uses @aws-sdk/client-${client}: add its IAM prefix and a policy`);
      for (const name of imported!.split(',').map((n) => n.replace(/^\s*type\s+/, '').trim())) {
        const command = /^([A-Z][A-Za-z0-9]+)Command$/.exec(name);
        if (command && new RegExp(`new ${name}\\(`).test(text))
          calls.push({ file, action: `${prefix}:${command[1]}` });
      }
    }
  }
  return calls;
}
const calls = awsCalls();
const rotateCalls = [...new Set(calls.filter((c) => !c.file.startsWith('src/sync/')).map((c) => c.action))];
const syncCalls = [...new Set(calls.filter((c) => c.file.startsWith('src/sync/')).map((c) => c.action))];

/**
 * Read-only zone metadata the delegate-zone policy has always granted (docs/dns.md) although no code calls it
 * today: the zone's own record (GetHostedZone, on that zone only) and the lookup by name. Nothing else unused.
 */
const UNUSED_READS = ['route53:GetHostedZone', 'route53:ListHostedZonesByName'];

const driverSource = readFileSync(join(PROJECT_ROOT, 'src/platforms/linux-ssm/client.ts'), 'utf8');
const DOCUMENT = /DocumentName:\s*'([^']+)'/.exec(driverSource)?.[1];
const TAG = `ssm:resourceTag/${DEFAULT_TAG_PREFIX}data_center`;
const EC2_INSTANCE = 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0';
const HYBRID_NODE = 'arn:aws:ssm:eu-west-1:111122223333:managed-instance/mi-0123456789abcdef0';

describe('the shipped IAM policies cover every AWS call the code makes, and nothing else', () => {
  it('finds the calls (the scan works)', () => {
    expect(rotateCalls).toEqual(
      expect.arrayContaining([
        'route53:ChangeResourceRecordSets',
        'route53:GetChange',
        'route53:ListResourceRecordSets',
        'ssm:SendCommand',
        'ssm:GetCommandInvocation',
        'ssm:DescribeInstanceInformation',
      ]),
    );
    expect(syncCalls).toEqual(expect.arrayContaining(['ssm:ListTagsForResource', 'ec2:DescribeTags']));
    expect(DOCUMENT).toBe('AWS-RunShellScript');
  });

  it('ships SSM examples named after data centers of the sample inventory', () => {
    const dataCenters = readdirSync(join(PROJECT_ROOT, 'inventory'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(ssmPolicies.size).toBeGreaterThan(0);
    for (const dataCenter of ssmPolicies.keys()) expect(dataCenters).toContain(dataCenter);
  });

  for (const [dataCenter, ssm] of ssmPolicies) {
    it(`pki-${dataCenter}'s role (iam-policy.json + iam-policy-ssm-${dataCenter}.json) allows every rotate call`, () => {
      for (const action of rotateCalls) expect(names([policy, ssm], action), action).toBe(true);
    });
    it(`pki-${dataCenter}'s role allows no action the rotate job does not call`, () => {
      const granted = [policy, ssm].flatMap((p) => p.Statement.flatMap(actions));
      for (const action of granted) {
        expect(action).not.toContain('*');
        if (!UNUSED_READS.includes(action)) expect(rotateCalls, action).toContain(action);
      }
    });
  }

  it('the sync role (iam-policy-sync.json) allows every discovery call and nothing else', () => {
    for (const action of syncCalls) expect(names([syncPolicy], action), action).toBe(true);
    for (const action of syncPolicy.Statement.flatMap(actions)) expect(syncCalls).toContain(action);
    expect(allows([syncPolicy], 'ssm:ListTagsForResource', HYBRID_NODE)).toBe(true);
    expect(names([syncPolicy], 'ssm:SendCommand')).toBe(false);
  });

  it('every policy is a current document of Allow statements', () => {
    for (const p of [policy, syncPolicy, ...ssmPolicies.values()]) {
      expect(p.Version).toBe('2012-10-17');
      for (const s of p.Statement) expect(s.Effect).toBe('Allow');
    }
  });
});

describe('SSM SendCommand is bounded to the data center and the document', () => {
  for (const [dataCenter, ssm] of ssmPolicies) {
    const others = [...ssmPolicies.keys()].filter((d) => d !== dataCenter);
    const role = [policy, ssm];

    it(`${dataCenter}: only with the driver's document ${DOCUMENT}`, () => {
      // AWS-owned documents have no account in their ARN.
      expect(allows(role, 'ssm:SendCommand', `arn:aws:ssm:eu-west-1::document/${DOCUMENT}`)).toBe(true);
      for (const other of [
        'arn:aws:ssm:eu-west-1::document/AWS-RunPowerShellScript',
        'arn:aws:ssm:eu-west-1::document/AWS-RunShellScriptX',
        'arn:aws:ssm:eu-west-1:111122223333:document/ottr-anything',
        `arn:aws:ssm:eu-west-1:111122223333:document/${DOCUMENT}-copy`,
      ])
        expect(allows(role, 'ssm:SendCommand', other), other).toBe(false);
    });

    it(`${dataCenter}: only on instances tagged ${DEFAULT_TAG_PREFIX}data_center=${dataCenter}`, () => {
      for (const instance of [EC2_INSTANCE, HYBRID_NODE]) {
        expect(allows(role, 'ssm:SendCommand', instance, { [TAG]: dataCenter })).toBe(true);
        expect(allows(role, 'ssm:SendCommand', instance)).toBe(false); // untagged
        expect(allows(role, 'ssm:SendCommand', instance, { [TAG]: dataCenter.toUpperCase() })).toBe(false);
        for (const other of [...others, 'lab', ''])
          expect(allows(role, 'ssm:SendCommand', instance, { [TAG]: other }), other).toBe(false);
      }
    });

    it(`${dataCenter}: no SendCommand statement goes without the tag condition or past the document`, () => {
      const sending = ssm.Statement.filter((s) =>
        actions(s).some((a) => glob(a, 'i').test('ssm:SendCommand')),
      );
      expect(sending.length).toBeGreaterThan(0);
      for (const s of sending) {
        expect(actions(s)).toEqual(['ssm:SendCommand']);
        if (resources(s).some((r) => r.includes(':document/'))) {
          expect(resources(s)).toEqual([`arn:aws:ssm:*:*:document/${DOCUMENT}`]);
        } else {
          for (const r of resources(s))
            expect(r).toMatch(/^arn:aws:(ec2:[^:]*:[^:]*:instance|ssm:[^:]*:[^:]*:managed-instance)\/\*$/);
          expect(s.Condition).toEqual({ StringEquals: { [TAG]: dataCenter } });
        }
      }
      expect(allows(role, 'ssm:SendCommand', '*')).toBe(false);
      expect(allows(role, 'ssm:SendCommand', 'arn:aws:ssm:eu-west-1:111122223333:document/*')).toBe(false);
    });

    it(`${dataCenter}: cannot retag an instance into its own data center`, () => {
      for (const tagging of [
        'ec2:CreateTags',
        'ec2:DeleteTags',
        'ssm:AddTagsToResource',
        'ssm:RemoveTagsFromResource',
      ])
        expect(names(role, tagging), tagging).toBe(false);
    });
  }
});

describe('the shipped IAM policy for the delegate zone', () => {
  it('grants only Route53 actions, no wildcards', () => {
    const all = policy.Statement.flatMap(actions);
    for (const action of all) expect(action).toMatch(/^route53:[A-Za-z]+$/);
    expect(new Set(all)).toEqual(
      new Set([
        'route53:ChangeResourceRecordSets',
        'route53:ListResourceRecordSets',
        'route53:GetHostedZone',
        'route53:GetChange',
        'route53:ListHostedZonesByName',
      ]),
    );
  });

  it('limits record changes to TXT records under the delegate zone in that zone', () => {
    const change = policy.Statement.filter((s) => actions(s).includes('route53:ChangeResourceRecordSets'));
    expect(change).toHaveLength(1);
    const [s] = change as [Statement];
    expect(actions(s)).toEqual(['route53:ChangeResourceRecordSets']);
    expect(resources(s)).toEqual([expect.stringMatching(/^arn:aws:route53:::hostedzone\/Z[A-Z0-9]+$/)]);
    const equals = s.Condition?.['ForAllValues:StringEquals'];
    expect(equals?.['route53:ChangeResourceRecordSetsRecordTypes']).toEqual(['TXT']);
    const changeActions = list(equals?.['route53:ChangeResourceRecordSetsActions'] ?? []);
    expect(changeActions.every((a) => ['CREATE', 'UPSERT', 'DELETE'].includes(a))).toBe(true);
    const recordNames =
      s.Condition?.['ForAllValues:StringLike']?.['route53:ChangeResourceRecordSetsNormalizedRecordNames'];
    expect(recordNames).toEqual([expect.stringMatching(/^\*\.[a-z0-9.-]+[a-z]$/)]); // lowercase, no trailing dot
  });

  it('evaluates as intended: TXT under the delegate zone yes; other types, names or zones no', () => {
    const [s] = policy.Statement.filter((x) => actions(x).includes('route53:ChangeResourceRecordSets'));
    const zone = resources(s!)[0]!;
    const suffix = list(
      s!.Condition!['ForAllValues:StringLike']!['route53:ChangeResourceRecordSetsNormalizedRecordNames']!,
    )[0]!.slice(2);
    const change = (types: string[], recordNames: string[], on = zone) =>
      allows([policy], 'route53:ChangeResourceRecordSets', on, {
        'route53:ChangeResourceRecordSetsRecordTypes': types,
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': recordNames,
        'route53:ChangeResourceRecordSetsActions': ['DELETE', 'CREATE'],
      });
    expect(change(['TXT'], [`fw1.example.com.${suffix}`])).toBe(true);
    expect(change(['TXT', 'CNAME'], [`fw1.example.com.${suffix}`])).toBe(false);
    expect(change(['TXT'], [`fw1.example.com.${suffix}`, 'www.example.com'])).toBe(false);
    expect(change(['TXT'], [suffix])).toBe(false); // the zone apex is not under it
    expect(change(['TXT'], [`fw1.${suffix}`], 'arn:aws:route53:::hostedzone/ZOTHERZONE')).toBe(false);
  });

  it('scopes every other action to the zone or to changes, except the zone lookup by name', () => {
    for (const s of policy.Statement) {
      for (const resource of resources(s)) {
        if (resource === '*') expect(actions(s)).toEqual(['route53:ListHostedZonesByName']);
        else expect(resource).toMatch(/^arn:aws:route53:::(hostedzone\/Z[A-Z0-9]+|change\/\*)$/);
      }
    }
  });
});
