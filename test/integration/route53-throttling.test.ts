import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { route53Provider } from '../../src/dns/route53-provider.ts';
import {
  DELEGATE_ZONE,
  DELEGATE_ZONE_ID,
  type DnsLab,
  LAB_CREDENTIALS,
  startDnsLab,
} from '../lab/dns/lab.ts';

// Issue 14, finding 15: Route53 allows five API requests per second per account, reads included; GetChange and
// ListResourceRecordSets answer Throttling like ChangeResourceRecordSets (test/lab/route53/BEHAVIOUR.md).
let lab: DnsLab;
beforeAll(async () => {
  lab = await startDnsLab();
});
afterAll(async () => {
  await lab.stop();
});

const provider = (lines: string[] = [], extra: Partial<Parameters<typeof route53Provider>[0]> = {}) =>
  route53Provider({
    hostedZoneId: DELEGATE_ZONE_ID,
    endpoint: lab.route53.endpoint,
    credentials: LAB_CREDENTIALS,
    baseDelayMs: 5,
    maxDelayMs: 50,
    log: (line) => lines.push(line),
    ...extra,
  });
const txt = (name: string) => lab.store.get(lab.delegate, name, 'TXT')?.values ?? [];

describe('Route53 reads are throttled too (finding 15)', () => {
  it('retries a throttled GetChange and returns only once the change is INSYNC', async () => {
    const name = `getchange.example.com.${DELEGATE_ZONE}`;
    lab.route53.insyncAfterPolls = 2;
    lab.route53.failNext('Throttling', 2, 'GetChange');
    const lines: string[] = [];
    await provider(lines).addTxt(name, 'v');
    expect(txt(name)).toEqual(['v']);
    expect(lab.route53.unconfirmedChanges()).toEqual([]);
    expect(lines.filter((l) => /GetChange.*Throttling, retrying/.test(l))).toHaveLength(2);
    lab.route53.failNext('Throttling', 1, 'GetChange');
    await provider().removeTxt(name, 'v');
    expect(txt(name)).toEqual([]);
    expect(lab.route53.unconfirmedChanges()).toEqual([]);
    lab.route53.insyncAfterPolls = 1;
  });

  it('retries a throttled ListResourceRecordSets and says which read was throttled', async () => {
    const name = `list.example.com.${DELEGATE_ZONE}`;
    lab.route53.failNext('Throttling', 3, 'ListResourceRecordSets');
    const lines: string[] = [];
    await provider(lines).addTxt(name, 'v');
    expect(txt(name)).toEqual(['v']);
    expect(lines.filter((l) => /ListResourceRecordSets.*Throttling, retrying/.test(l))).toHaveLength(3);
  });

  it("keeps every change INSYNC under the account's 5 requests per second, with six jobs at once", async () => {
    const name = `rate.example.com.${DELEGATE_ZONE}`;
    lab.route53.rateLimitPerSecond = 5;
    const values = Array.from({ length: 6 }, (_, i) => `rate-${i}`);
    try {
      await Promise.all(
        values.map((v) =>
          provider([], { baseDelayMs: 100, maxDelayMs: 5000, maxAttempts: 12 }).addTxt(name, v),
        ),
      );
    } finally {
      lab.route53.rateLimitPerSecond = undefined;
    }
    expect(txt(name).sort()).toEqual([...values].sort());
    expect(lab.route53.unconfirmedChanges()).toEqual([]);
    expect(lab.route53.requests).toContain('GetChange');
  }, 60_000);
});
