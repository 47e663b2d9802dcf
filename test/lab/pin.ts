import { spkiSha256 } from '../../src/platforms/shared/https-client.ts';
import type { TlsEndpoint } from '../../src/verify/tls.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';

/** The tls_spki_sha256 pin of what an endpoint serves now (a lab appliance's factory certificate, say). */
export async function servedSpkiPin(endpoint: TlsEndpoint): Promise<string> {
  const leaf = (await fetchServedChain(endpoint))[0];
  if (!leaf) throw new Error(`${endpoint.host}:${endpoint.port} served no certificate`);
  return spkiSha256(leaf);
}
