import type { PlatformManifest } from '../manifest.ts';
import { HTTPS_CONNECTION } from '../shared/https-client.ts';
import { durationOption, durationSchema, stringOption } from '../shared/options.ts';

/** Route options of the panos driver, as the driver uses them. */
export interface PanosOptions {
  /** SSL/TLS service profile the certificate is bound to (created when missing). */
  sslTlsProfile: string;
  /** Prefix of the per-rotation certificate name on the firewall. */
  certificatePrefix: string;
  /** How long the commit job is polled before the step fails. */
  commitTimeoutMs: number;
  /** How long another admin's config or commit lock, or commit in progress, is waited for before the step fails. */
  lockTimeoutMs: number;
}

export const panos: PlatformManifest<PanosOptions> = {
  name: 'panos',
  title: 'Palo Alto Networks PAN-OS (XML API)',
  transport: 'https',
  connection: { fields: HTTPS_CONNECTION, required: ['credentials'] },
  keyTypes: ['rsa', 'ecdsa'],
  options: {
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ssl_tls_profile: {
          description: 'SSL/TLS service profile the certificate is bound to (created when missing).',
          type: 'string',
          pattern: '^[A-Za-z0-9][A-Za-z0-9._ -]{0,30}$',
        },
        certificate_prefix: {
          description: 'Prefix of the per-rotation certificate name on the firewall (default ottr).',
          type: 'string',
          pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$',
        },
        commit_timeout: durationSchema('How long to wait for the commit job, e.g. 10m.'),
        lock_timeout: durationSchema(
          'How long to wait while another admin holds a config or commit lock or runs a commit, e.g. 2m.',
        ),
      },
    },
    parse: (raw) => ({
      sslTlsProfile: stringOption(raw, 'ssl_tls_profile', 'ottr-mgmt'),
      certificatePrefix: stringOption(raw, 'certificate_prefix', 'ottr'),
      commitTimeoutMs: durationOption(raw, 'commit_timeout', 600_000),
      lockTimeoutMs: durationOption(raw, 'lock_timeout', 120_000),
    }),
  },
  aliases: {
    ottrTaskWords: ['panos', 'paloalto', 'pan'],
    // Ottr bound the certificate through an SSL/TLS service profile named "otter".
    ottrParityOptions: { ssl_tls_profile: 'otter' },
    defaultCredentials: 'PANOS_API_KEY',
    cmdbNames: ['pan-os', 'paloalto', 'palo-alto'],
  },
  loadDriver: async () => (await import('./driver.ts')).panosDriver,
};
