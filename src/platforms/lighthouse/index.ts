import type { PlatformManifest } from '../manifest.ts';
import { HTTPS_CONNECTION } from '../shared/https-client.ts';
import { durationOption, durationSchema, stringOption } from '../shared/options.ts';

/** Route options of the lighthouse driver, as the driver uses them. */
export interface LighthouseOptions {
  /** The CSR field carrying the SANs (not in the v3.7 RAML; see README). */
  sanField: string;
  /** How long the web server may take to come back with the new certificate. */
  restartTimeoutMs: number;
}

export const lighthouse: PlatformManifest<LighthouseOptions> = {
  name: 'lighthouse',
  title: 'Opengear Lighthouse (REST v3.7)',
  transport: 'https',
  connection: { fields: HTTPS_CONNECTION, required: ['credentials'] },
  keyTypes: ['rsa'],
  options: {
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        restart_timeout: durationSchema('How long to wait for the web server to come back, e.g. 3m.'),
        san_field: {
          type: 'string',
          pattern: '^[a-z][a-z0-9_]{0,63}$',
          description:
            'Field of https.csr that carries the subject alternative names (default subject_alternative_names); REST v3.7 documents none.',
        },
      },
    },
    parse: (raw) => ({
      sanField: stringOption(raw, 'san_field', 'subject_alternative_names'),
      restartTimeoutMs: durationOption(raw, 'restart_timeout', 180_000),
    }),
  },
  aliases: {
    ottrTaskWords: ['lighthouse', 'opengear'],
    defaultCredentials: 'LIGHTHOUSE_CREDENTIALS',
    cmdbNames: ['opengear'],
  },
  loadDriver: async () => (await import('./driver.ts')).lighthouseDriver,
};
