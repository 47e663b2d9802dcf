import { Route53Emulator } from '../route53/emulator.ts';
import { AuthoritativeServer } from './authoritative-server.ts';
import { type Zone, ZoneStore } from './zone-store.ts';

export const ORG_ZONE = 'example.com';
export const DELEGATE_ZONE = 'acme-delegate.example.net';
export const DELEGATE_ZONE_ID = 'Z0DELEGATE0LAB';
export const LAB_CREDENTIALS = { accessKeyId: 'AKIDLABEXAMPLE', secretAccessKey: 'lab-secret-not-real' };

export interface DnsLab {
  store: ZoneStore;
  org: Zone;
  delegate: Zone;
  dns: AuthoritativeServer;
  route53: Route53Emulator;
  /** `127.0.0.1:PORT` of the authoritative server (both zones). */
  server: string;
  /** Creates `_acme-challenge.<name>` CNAMEs to the delegate zone, as onboarding does. */
  addAliases(names: string[]): void;
  stop(): Promise<void>;
}

/** The organisation zone (CNAMEs) and the delegate zone (TXT), served by one DNS server and one Route53 emulator. */
export async function startDnsLab(): Promise<DnsLab> {
  const store = new ZoneStore();
  const org = store.addZone(ORG_ZONE, 'Z0ORG0LAB');
  const delegate = store.addZone(DELEGATE_ZONE, DELEGATE_ZONE_ID);
  const dns = new AuthoritativeServer(store);
  const port = await dns.start();
  const route53 = new Route53Emulator(store);
  await route53.start();
  return {
    store,
    org,
    delegate,
    dns,
    route53,
    server: `127.0.0.1:${port}`,
    addAliases(names) {
      for (const name of names) {
        const base = name.replace(/^\*\./, '');
        store.put(org, {
          name: `_acme-challenge.${base}`,
          type: 'CNAME',
          ttl: 300,
          values: [`${base}.${DELEGATE_ZONE}`],
        });
      }
    },
    async stop() {
      await Promise.all([dns.stop(), route53.stop()]);
    },
  };
}
