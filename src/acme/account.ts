import * as acme from 'acme-client';
import type { Authority } from '../model/types.ts';
import { isHiddenNetworkError, reachDirectory, unreachableCause, useAcmeNetwork } from './network.ts';

export interface Registration {
  accountUrl: string;
  accountKeyPem: string;
}

/** Reads a secret by the NAME the settings give; the value itself never appears in messages. */
export function secretValue(env: NodeJS.ProcessEnv, name: string, purpose: string): string {
  const value = env[name];
  if (!value) throw new Error(`the secret ${name} (${purpose}) is not set in the environment`);
  return value;
}

/** The directory to use: the authority's, its staging one, or an explicit override. */
export function directoryFor(
  authority: Authority,
  options: { staging?: boolean; directory?: string },
): string {
  if (options.directory) return options.directory;
  if (options.staging) {
    if (!authority.staging_directory) throw new Error('this authority has no staging_directory');
    return authority.staging_directory;
  }
  return authority.directory;
}

/** How long one request to the CA may take when registering (the name lookup included), unless told. */
export const DEFAULT_REGISTER_TIMEOUT_MS = 10_000;

/**
 * Creates an ACME account with a new ECDSA P-256 key (with external account binding when configured). The
 * directory is fetched first, so a CA that cannot be reached fails within `timeoutMs` with the reason
 * ("cannot reach URL: ECONNREFUSED"), through the proxy `env` names, if any.
 */
export async function registerAccount(
  authority: Authority,
  directoryUrl: string,
  env: NodeJS.ProcessEnv,
  contact: string[] = [],
  timeoutMs = DEFAULT_REGISTER_TIMEOUT_MS,
): Promise<Registration> {
  useAcmeNetwork({ env, timeoutMs });
  const options: acme.ClientOptions = { directoryUrl, accountKey: '' };
  if (authority.eab) {
    options.externalAccountBinding = {
      kid: secretValue(env, authority.eab.kid_secret, 'EAB key id'),
      hmacKey: secretValue(env, authority.eab.hmac_secret, 'EAB HMAC key'),
    };
  }
  await reachDirectory(directoryUrl, timeoutMs);
  const accountKey = await acme.crypto.createPrivateEcdsaKey('P-256');
  const client = new acme.Client({ ...options, accountKey });
  try {
    await client.createAccount({ termsOfServiceAgreed: true, ...(contact.length > 0 ? { contact } : {}) });
  } catch (error) {
    if (!isHiddenNetworkError(error)) throw error;
    const cause = await unreachableCause(directoryUrl, timeoutMs);
    throw new Error(
      cause
        ? `cannot reach ${directoryUrl}: ${cause}`
        : `the connection to ${directoryUrl} failed during registration (or no answer within ${timeoutMs / 1000} s)`,
    );
  }
  return { accountUrl: client.getAccountUrl(), accountKeyPem: accountKey.toString() };
}
