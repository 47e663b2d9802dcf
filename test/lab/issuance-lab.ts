import * as acme from 'acme-client';
import { registerAccount } from '../../src/acme/account.ts';
import { type IssueRequest, issueCertificate } from '../../src/acme/issuance.ts';
import { resolverFor } from '../../src/dns/resolver.ts';
import { route53Provider } from '../../src/dns/route53-provider.ts';
import type { Authority, Device } from '../../src/model/types.ts';
import type { RotateOptions } from '../../src/rotate/rotate-device.ts';
import { DELEGATE_ZONE, DELEGATE_ZONE_ID, type DnsLab, LAB_CREDENTIALS, startDnsLab } from './dns/lab.ts';
import { type Pebble, startPebble } from './pebble/pebble.ts';

export interface IssuanceLab {
  dns: DnsLab;
  pebble: Pebble;
  authority: Authority;
  accountKeyPem: string;
  /** Pebble's root, for verifying served chains. */
  roots: string[];
  /** An issuance request for a device's CSR against the lab (Pebble, Route53 emulator, lab DNS). */
  request(device: Device, csrPem: string, extra?: Partial<IssueRequest>): IssueRequest;
  /** RotateOptions['order'] bound to the lab. */
  order: RotateOptions['order'];
  stop(): Promise<void>;
}

/** The CA side of the lab: the DNS lab, Debian's Pebble validating through it, and a registered account. */
export async function startIssuanceLab(
  authority: Authority = {
    directory: 'https://unused.invalid/dir',
    account_key_secret: 'LAB_ACCOUNT_KEY',
    key: { type: 'ecdsa', curve: 'P-256' },
  },
): Promise<IssuanceLab> {
  const dns = await startDnsLab();
  const pebble = await startPebble({ dnsServer: dns.server });
  acme.axios.defaults.httpsAgent = pebble.agent;
  const { accountKeyPem } = await registerAccount(authority, pebble.directoryUrl, {});
  const roots = [await pebble.rootsPem()];
  const request = (device: Device, csrPem: string, extra: Partial<IssueRequest> = {}): IssueRequest => ({
    device,
    csrPem,
    authority,
    directoryUrl: pebble.directoryUrl,
    accountKeyPem,
    dns: {
      provider: route53Provider({
        hostedZoneId: DELEGATE_ZONE_ID,
        endpoint: dns.route53.endpoint,
        credentials: LAB_CREDENTIALS,
        baseDelayMs: 5,
        maxDelayMs: 100,
        maxAttempts: 60,
      }),
      delegateZone: DELEGATE_ZONE,
      nameservers: [dns.server],
      propagationTimeoutMs: 5000,
      aliasResolver: resolverFor([dns.server]),
    },
    ...extra,
  });
  return {
    dns,
    pebble,
    authority,
    accountKeyPem,
    roots,
    request,
    order: (csrPem, device) => issueCertificate(request(device, csrPem)),
    async stop() {
      await pebble.stop();
      await dns.stop();
    },
  };
}
