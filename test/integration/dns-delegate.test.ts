import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkChallengeAliases, describeAliasProblems } from '../../src/dns/cname-check.ts';
import { DnsError } from '../../src/dns/errors.ts';
import { delegateNameservers } from '../../src/dns/nameservers.ts';
import { waitForTxt } from '../../src/dns/propagation.ts';
import { resolverFor } from '../../src/dns/resolver.ts';
import { route53Provider } from '../../src/dns/route53-provider.ts';
import {
  DELEGATE_ZONE,
  DELEGATE_ZONE_ID,
  type DnsLab,
  LAB_CREDENTIALS,
  startDnsLab,
} from '../lab/dns/lab.ts';

let lab: DnsLab;
beforeAll(async () => {
  lab = await startDnsLab();
});
afterAll(async () => {
  await lab.stop();
});

const provider = (extra: Partial<Parameters<typeof route53Provider>[0]> = {}) =>
  route53Provider({
    hostedZoneId: DELEGATE_ZONE_ID,
    endpoint: lab.route53.endpoint,
    credentials: LAB_CREDENTIALS,
    baseDelayMs: 5,
    maxDelayMs: 50,
    ...extra,
  });
const txt = (name: string) => lab.store.get(lab.delegate, name, 'TXT')?.values ?? [];

describe('the lab DNS server', () => {
  it('answers authoritatively over UDP and falls back to TCP for a large answer', async () => {
    const resolver = resolverFor([lab.server]);
    lab.store.put(lab.delegate, {
      name: `big.${DELEGATE_ZONE}`,
      type: 'TXT',
      ttl: 60,
      values: Array.from({ length: 30 }, (_, i) => `${'v'.repeat(40)}${i}`),
    });
    expect(await resolver.resolveTxt(`big.${DELEGATE_ZONE}`)).toHaveLength(30);
    expect(lab.dns.log.filter((q) => q.name === `big.${DELEGATE_ZONE}`).map((q) => q.transport)).toContain(
      'tcp',
    );
    await expect(resolver.resolveTxt(`missing.${DELEGATE_ZONE}`)).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
    await expect(resolver.resolveTxt('elsewhere.org')).rejects.toMatchObject({ code: 'EREFUSED' });
  });
});

describe('the Route53 provider against the emulator, with the real SDK', () => {
  it('adds and removes only its own value, waiting for INSYNC', async () => {
    const name = `fw1.example.com.${DELEGATE_ZONE}`;
    lab.route53.insyncAfterPolls = 3;
    await provider().addTxt(name, 'first');
    await provider().addTxt(name, 'second');
    expect(txt(name)).toEqual(['first', 'second']);
    await provider().removeTxt(name, 'first');
    expect(txt(name)).toEqual(['second']);
    await provider().removeTxt(name, 'not-there');
    await provider().removeTxt(name, 'second');
    expect(lab.store.get(lab.delegate, name, 'TXT')).toBeUndefined();
    expect(lab.route53.requests).toContain('GetChange');
    lab.route53.insyncAfterPolls = 1;
  });

  it('loses no value when 20 jobs write to one name at once', async () => {
    const name = `shared.example.com.${DELEGATE_ZONE}`;
    const values = Array.from({ length: 20 }, (_, i) => `value-${i}`);
    await Promise.all(values.map((v) => provider({ maxAttempts: 60 }).addTxt(name, v)));
    expect(txt(name).sort()).toEqual([...values].sort());
    await Promise.all(values.slice(0, 10).map((v) => provider({ maxAttempts: 60 }).removeTxt(name, v)));
    expect(txt(name).sort()).toEqual(values.slice(10).sort());
  });

  it('also loses nothing when Route53 answers conflicts with the older InvalidChangeBatch document', async () => {
    const name = `legacy.example.com.${DELEGATE_ZONE}`;
    lab.route53.legacyInvalidChangeBatch = true;
    const values = Array.from({ length: 10 }, (_, i) => `legacy-${i}`);
    await Promise.all(values.map((v) => provider({ maxAttempts: 60 }).addTxt(name, v))).finally(() => {
      lab.route53.legacyInvalidChangeBatch = false;
    });
    expect(txt(name).sort()).toEqual([...values].sort());
  });

  it('survives throttling and PriorRequestNotComplete, and gives up with a DnsError', async () => {
    const name = `throttled.example.com.${DELEGATE_ZONE}`;
    const lines: string[] = [];
    lab.route53.failNext('Throttling', 2);
    lab.route53.failNext('PriorRequestNotComplete', 1);
    await provider({ log: (l) => lines.push(l) }).addTxt(name, 'v');
    expect(txt(name)).toEqual(['v']);
    expect(lines.filter((l) => /retrying/.test(l))).toHaveLength(3);
    lab.route53.failNext('Throttling', 10);
    const error = await provider({ maxAttempts: 3 })
      .addTxt(name, 'w')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DnsError);
    expect((error as DnsError).code).toBe('throttled');
    expect((error as Error).message).not.toContain(LAB_CREDENTIALS.secretAccessKey);
    lab.route53.clearFaults();
  });

  it('reports a wrong zone as not found', async () => {
    const error = await route53Provider({
      hostedZoneId: 'ZNOSUCHZONE',
      endpoint: lab.route53.endpoint,
      credentials: LAB_CREDENTIALS,
    })
      .addTxt('x.example.net', 'v')
      .catch((e: unknown) => e);
    expect((error as DnsError).code).toBe('not_found');
  });
});

describe('finding the delegate zone', () => {
  it("answers the SDK's zone lookups", async () => {
    const { GetHostedZoneCommand, ListHostedZonesByNameCommand, Route53Client } = await import(
      '@aws-sdk/client-route-53'
    );
    const client = new Route53Client({
      region: 'us-east-1',
      endpoint: lab.route53.endpoint,
      credentials: LAB_CREDENTIALS,
    });
    const zones = await client.send(new ListHostedZonesByNameCommand({ DNSName: DELEGATE_ZONE }));
    expect(zones.HostedZones?.[0]).toMatchObject({
      Id: `/hostedzone/${DELEGATE_ZONE_ID}`,
      Name: `${DELEGATE_ZONE}.`,
    });
    const zone = await client.send(new GetHostedZoneCommand({ Id: DELEGATE_ZONE_ID }));
    expect(zone.DelegationSet?.NameServers).toEqual([`ns1.${DELEGATE_ZONE}`]);
  });

  it("uses configured nameservers, or discovers them from the zone's NS records", async () => {
    const base = {
      provider: 'route53' as const,
      delegate_zone: DELEGATE_ZONE,
      hosted_zone_id: DELEGATE_ZONE_ID,
    };
    expect(await delegateNameservers({ ...base, propagation: { nameservers: ['192.0.2.53:5353'] } })).toEqual(
      ['192.0.2.53:5353'],
    );
    expect(await delegateNameservers({ ...base, resolvers: [lab.server] })).toEqual(['127.0.0.1']);
    await expect(
      delegateNameservers({ ...base, delegate_zone: 'nowhere.example.org', resolvers: [lab.server] }),
    ).rejects.toThrow(/cannot find the nameservers of nowhere.example.org/);
  });
});

describe('propagation and the challenge alias', () => {
  it('waits until the authoritative server serves the value', async () => {
    const name = `slow.example.com.${DELEGATE_ZONE}`;
    lab.store.hidden.add(name);
    await provider().addTxt(name, 'token');
    setTimeout(() => lab.store.hidden.delete(name), 150);
    const result = await waitForTxt(name, ['token'], {
      nameservers: [lab.server],
      timeoutMs: 5000,
      initialDelayMs: 20,
    });
    expect(result.attempts).toBeGreaterThan(1);
    expect(result.ms).toBeGreaterThanOrEqual(100);
  });

  it('times out naming the server when the value never appears', async () => {
    const error = await waitForTxt(`never.example.com.${DELEGATE_ZONE}`, ['token'], {
      nameservers: [lab.server],
      timeoutMs: 300,
      initialDelayMs: 20,
    }).catch((e: unknown) => e);
    expect((error as DnsError).code).toBe('timeout');
    expect((error as Error).message).toContain(lab.server);
  });

  it('finds missing or wrong CNAMEs and prints the records to create', async () => {
    lab.addAliases(['good.example.com']);
    lab.store.put(lab.org, {
      name: '_acme-challenge.wrong.example.com',
      type: 'CNAME',
      ttl: 300,
      values: ['elsewhere.example.org'],
    });
    const problems = await checkChallengeAliases(
      ['good.example.com', 'wrong.example.com', '*.missing.example.com'],
      DELEGATE_ZONE,
      resolverFor([lab.server]),
    );
    expect(problems.map((p) => p.name)).toEqual([
      '_acme-challenge.missing.example.com',
      '_acme-challenge.wrong.example.com',
    ]);
    const text = describeAliasProblems(problems);
    expect(text).toContain(
      `_acme-challenge.missing.example.com. CNAME missing.example.com.${DELEGATE_ZONE}.   (missing)`,
    );
    expect(text).toContain('(now: CNAME elsewhere.example.org)');
  });

  it('a resolver that does not answer is asked again, then reported as unchecked, never as a missing alias', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    let queries = 0;
    socket.on('message', () => queries++); // a server that swallows every query
    const { port } = socket.address();
    try {
      const resolver = resolverFor([`127.0.0.1:${port}`]);
      const problems = await checkChallengeAliases(['good.example.com'], DELEGATE_ZONE, resolver);
      expect(problems).toHaveLength(1);
      expect(problems[0]!.lookupError).toMatch(/^E[A-Z]+$/);
      expect(queries).toBeGreaterThanOrEqual(3);
      const text = describeAliasProblems(problems);
      expect(text).toMatch(/could not be checked: the resolver failed \(E[A-Z]+\)/);
      expect(text).not.toContain('(missing)');
    } finally {
      socket.close();
    }
  }, 60_000);
});
