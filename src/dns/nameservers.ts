import type { DnsSettings } from '../model/types.ts';
import { DnsError } from './errors.ts';
import { authoritativeServers, resolverFor } from './resolver.ts';

/**
 * The servers propagation is checked at: `dns.propagation.nameservers` when set, else every address of every NS
 * of the delegate zone, looked up through `dns.resolvers` (or the runner's resolvers).
 */
export async function delegateNameservers(dns: DnsSettings): Promise<string[]> {
  const configured = dns.propagation?.nameservers;
  if (configured && configured.length > 0) return configured;
  let servers: string[];
  try {
    servers = await authoritativeServers(dns.delegate_zone, resolverFor(dns.resolvers, 2000));
  } catch (error) {
    throw new DnsError(
      'not_found',
      `cannot find the nameservers of ${dns.delegate_zone}: ${(error as { code?: string }).code ?? (error as Error).message}`,
    );
  }
  if (servers.length === 0)
    throw new DnsError('not_found', `${dns.delegate_zone} has no nameserver addresses`);
  return servers;
}
