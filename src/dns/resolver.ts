import { Resolver } from 'node:dns/promises';

/**
 * A resolver that asks exactly the given servers (UDP, falling back to TCP when an answer is truncated —
 * c-ares does that by itself), or the system's servers when none are given.
 */
export function resolverFor(servers: readonly string[] | undefined, timeoutMs = 1000): Resolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  if (servers && servers.length > 0) resolver.setServers([...servers]); // ip, ip:port or [v6]:port
  return resolver;
}

/** The addresses (`ip` or `ip:port`) of a zone's authoritative nameservers, found through `resolver`. */
export async function authoritativeServers(zone: string, resolver: Resolver): Promise<string[]> {
  const names = await resolver.resolveNs(zone);
  const addresses = await Promise.all(
    names.map(async (name) => {
      const [v4, v6] = await Promise.all([
        resolver.resolve4(name).catch(() => [] as string[]),
        resolver.resolve6(name).catch(() => [] as string[]),
      ]);
      return [...v4, ...v6.map((a) => `[${a}]`)];
    }),
  );
  return [...new Set(addresses.flat())];
}
