import type { PlatformManifest } from '../manifest.ts';
import { OptionsError } from '../manifest.ts';
import { HTTPS_CONNECTION } from '../shared/https-client.ts';
import { durationOption, durationSchema, stringOption } from '../shared/options.ts';

/** Route options of the f5 driver, as the driver uses them. */
export interface F5Options {
  /** Where the certificate is bound: the management httpd (as Ottr did) or a client-ssl profile. */
  target: 'httpd' | 'client-ssl';
  /** target client-ssl: the profile to update, e.g. /Common/clientssl-www; '' for httpd. */
  clientSslProfile: string;
  partition: string;
  certificatePrefix: string;
  /** target httpd: how long httpd may take to come back after its restart. */
  restartTimeoutMs: number;
  /** The sync-failover device group to run `config-sync to-group` for after each save; '' for none. */
  deviceGroup: string;
  /** How long the device group may take to read In Sync after a config-sync. */
  syncTimeoutMs: number;
}

export const f5: PlatformManifest<F5Options> = {
  name: 'f5',
  title: 'F5 BIG-IP (iControl REST)',
  transport: 'https',
  connection: { fields: HTTPS_CONNECTION, required: ['credentials'] },
  keyTypes: ['rsa', 'ecdsa'],
  options: {
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        target: {
          description:
            'Where the certificate is bound: the management httpd (as Ottr did) or a client-ssl profile.',
          enum: ['httpd', 'client-ssl'],
        },
        client_ssl_profile: {
          description: 'target client-ssl: the profile to update, e.g. /Common/clientssl-www.',
          type: 'string',
          pattern: '^(/[A-Za-z0-9_.-]+)+$',
        },
        partition: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
        certificate_prefix: {
          description:
            'Prefix of the per-rotation key, CSR and certificate names on the BIG-IP (default ottr).',
          type: 'string',
          pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$',
        },
        restart_timeout: durationSchema(
          'target httpd: how long to wait for httpd to come back after its restart, e.g. 3m.',
        ),
        device_group: {
          description:
            'The sync-failover device group (in /Common) to config-sync to after each save of the configuration; none by default.',
          type: 'string',
          pattern: '^[A-Za-z0-9_.-]{1,255}$',
        },
        sync_timeout: durationSchema(
          'With device_group: how long the group may take to read In Sync after a config-sync, e.g. 5m.',
        ),
      },
    },
    parse(raw) {
      const clientSslProfile = stringOption(raw, 'client_ssl_profile', '');
      const target = stringOption(raw, 'target', clientSslProfile ? 'client-ssl' : 'httpd');
      if (target !== 'httpd' && target !== 'client-ssl')
        throw new OptionsError('target', 'must be httpd or client-ssl');
      if (target === 'client-ssl' && !clientSslProfile)
        throw new OptionsError('client_ssl_profile', 'is required with target client-ssl');
      return {
        target,
        clientSslProfile,
        partition: stringOption(raw, 'partition', 'Common'),
        certificatePrefix: stringOption(raw, 'certificate_prefix', 'ottr'),
        restartTimeoutMs: durationOption(raw, 'restart_timeout', 180_000),
        deviceGroup: stringOption(raw, 'device_group', ''),
        syncTimeoutMs: durationOption(raw, 'sync_timeout', 300_000),
      };
    },
  },
  aliases: {
    ottrTaskWords: ['f5', 'bigip'],
    // Ottr replaced the management httpd certificate.
    ottrParityOptions: { target: 'httpd' },
    defaultCredentials: 'F5_CREDENTIALS',
    cmdbNames: ['big-ip', 'bigip'],
  },
  loadDriver: async () => (await import('./driver.ts')).f5Driver,
};
