import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.ts';

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string[]>>;
}

const policy = JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs/iam-policy.json'), 'utf8')) as {
  Version: string;
  Statement: Statement[];
};
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resources = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

describe('the shipped IAM policy for the delegate zone', () => {
  it('is a current policy document that only allows', () => {
    expect(policy.Version).toBe('2012-10-17');
    for (const s of policy.Statement) expect(s.Effect).toBe('Allow');
  });

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
    const changeActions = equals?.['route53:ChangeResourceRecordSetsActions'] ?? [];
    expect(changeActions.every((a) => ['CREATE', 'UPSERT', 'DELETE'].includes(a))).toBe(true);
    const names =
      s.Condition?.['ForAllValues:StringLike']?.['route53:ChangeResourceRecordSetsNormalizedRecordNames'];
    expect(names).toEqual([expect.stringMatching(/^\*\.[a-z0-9.-]+[a-z]$/)]); // lowercase, no trailing dot
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
