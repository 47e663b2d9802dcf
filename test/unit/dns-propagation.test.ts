import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsError } from '../../src/dns/errors.ts';
import { waitForTxt } from '../../src/dns/propagation.ts';

/** A DNS-over-HTTPS JSON endpoint (plain HTTP on loopback) whose answers the test controls. */
async function dohServer(
  answer: (name: string, hit: number) => string[],
): Promise<{ url: string; hits: () => number; server: Server }> {
  let hits = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits++;
    const values = answer(url.searchParams.get('name') ?? '', hits);
    res.setHeader('content-type', 'application/dns-json');
    res.end(
      JSON.stringify({
        Status: 0,
        Answer: values.map((v) => ({
          name: url.searchParams.get('name'),
          type: 16,
          TTL: 60,
          data: `"${v}"`,
        })),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/resolve`, hits: () => hits, server };
}

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

describe('waitForTxt through DoH', () => {
  it('returns as soon as every value is visible, polling with backoff', async () => {
    const doh = await dohServer((_name, hit) => (hit >= 3 ? ['a', 'b'] : hit === 2 ? ['a'] : []));
    server = doh.server;
    const pending: number[] = [];
    const result = await waitForTxt('x.acme.example.net', ['a', 'b'], {
      nameservers: [],
      check: 'doh',
      dohUrl: doh.url,
      timeoutMs: 5000,
      initialDelayMs: 10,
      onPending: (_p, attempt) => pending.push(attempt),
    });
    expect(result.attempts).toBe(3);
    expect(pending).toEqual([1, 2]);
    expect(doh.hits()).toBe(3);
  });

  it('times out with a DnsError naming the server and what it last saw', async () => {
    const doh = await dohServer(() => ['stale']);
    server = doh.server;
    const error = await waitForTxt('x.acme.example.net', ['fresh'], {
      nameservers: [],
      check: 'doh',
      dohUrl: doh.url,
      timeoutMs: 200,
      initialDelayMs: 10,
      maxDelayMs: 40,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DnsError);
    expect((error as DnsError).code).toBe('timeout');
    expect((error as DnsError).message).toMatch(
      /TXT at x.acme.example.net not visible after 200 ms at: http:\/\/127.0.0.1:\d+\/resolve \(stale\)/,
    );
    expect(doh.hits()).toBeGreaterThan(2);
  });

  it('stops when cancelled', async () => {
    const doh = await dohServer(() => []);
    server = doh.server;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by test')), 50);
    await expect(
      waitForTxt('x.acme.example.net', ['v'], {
        nameservers: [],
        check: 'doh',
        dohUrl: doh.url,
        timeoutMs: 10_000,
        initialDelayMs: 20,
        signal: controller.signal,
      }),
    ).rejects.toThrow(/cancelled by test/);
  });

  it('needs a DoH URL for a DoH check, and servers for an authoritative one', async () => {
    await expect(waitForTxt('x', ['v'], { nameservers: [], check: 'doh', timeoutMs: 10 })).rejects.toThrow(
      /needs dns.propagation.doh_url/,
    );
    await expect(waitForTxt('x', ['v'], { nameservers: [], timeoutMs: 10 })).rejects.toThrow(
      /no nameservers known/,
    );
  });
});
