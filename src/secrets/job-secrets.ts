import { authoritySecrets, CREDENTIAL_FIELDS } from '../model/boundary.ts';
import type { Device, Settings } from '../model/types.ts';

/** Each data center's rotate jobs run in their own GitHub environment: pki-<data_center>. */
export const ENVIRONMENT_PREFIX = 'pki-';
/** The report job's environment: the App key and the notification secrets, never a device credential. */
export const REPORT_ENVIRONMENT = 'pki-report';
/** The discovery job's environment (sync.yml): the App key and a read-only AWS role. */
export const SYNC_ENVIRONMENT = 'pki-sync';
/**
 * The secret slots of a rotate job (OTTR_SECRET_1…8 in rotate.yml). One device needs at most five (credential,
 * passphrase, account key, EAB kid and HMAC); the plan never puts more names than this into one entry.
 */
export const JOB_SECRET_SLOTS = 8;
/** The report job's slots (OTTR_SECRET_1…4): Slack, the events URL and its signing key. */
export const REPORT_SECRET_SLOTS = 4;

export function environmentFor(dataCenter: string): string {
  return `${ENVIRONMENT_PREFIX}${dataCenter}`;
}

/** The names of the secrets one device's rotation reads, sorted: its credentials and its authority's account. */
export function deviceSecrets(device: Device, settings: Settings): string[] {
  const names = new Set<string>();
  for (const field of CREDENTIAL_FIELDS) {
    const name = device.connection?.[field];
    if (name) names.add(name);
  }
  const authority = Object.hasOwn(settings.authorities, device.certificate_authority)
    ? settings.authorities[device.certificate_authority]
    : undefined;
  for (const use of authority ? authoritySecrets(authority) : []) names.add(use.name);
  return [...names].sort();
}

/** The names of the secrets the report job reads: the notification and event secrets settings name. */
export function reportSecrets(settings: Settings): string[] {
  const names = new Set<string>();
  if (settings.notifications?.slack_webhook_secret) names.add(settings.notifications.slack_webhook_secret);
  if (settings.events?.webhook_url_secret) names.add(settings.events.webhook_url_secret);
  if (settings.events?.webhook_signing_secret) names.add(settings.events.webhook_signing_secret);
  return [...names].sort();
}
