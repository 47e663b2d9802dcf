import { OptionsError, type PlatformManifest } from '../manifest.ts';
import { HTTPS_CONNECTION } from '../shared/https-client.ts';
import { durationOption, durationSchema, stringOption } from '../shared/options.ts';

/** The CSR subject fields of `https.csr`, spelled as the v3.7 RAML spells them (`org_unit`, not `organization_unit`). */
export const SUBJECT_FIELDS = ['organization', 'org_unit', 'locality', 'state', 'country', 'email'] as const;
export type LighthouseSubject = Partial<Record<(typeof SUBJECT_FIELDS)[number], string>>;

/** Route options of the lighthouse driver, as the driver uses them. */
export interface LighthouseOptions {
  /**
   * The `https.csr` field that carries the SANs, for a release whose API takes them; unset (the default), a device
   * with SANs is refused at precheck, because the v3.7 RAML documents no such field (see README).
   */
  sanField: string | undefined;
  /** Subject fields sent with the CSR (and with the upload, as its CSR object). */
  subject: LighthouseSubject;
  /** How long the web server may take to come back with the new certificate. */
  restartTimeoutMs: number;
}

function subjectOption(raw: Readonly<Record<string, unknown>> | undefined): LighthouseSubject {
  const value = raw?.subject;
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new OptionsError('subject', `must be a mapping of ${SUBJECT_FIELDS.join(', ')}`);
  const subject: LighthouseSubject = {};
  for (const [field, text] of Object.entries(value)) {
    if (!(SUBJECT_FIELDS as readonly string[]).includes(field))
      throw new OptionsError(
        `subject.${field}`,
        `is not a subject field of REST v3.7 (${SUBJECT_FIELDS.join(', ')})`,
      );
    if (typeof text !== 'string' || !text)
      throw new OptionsError(`subject.${field}`, 'must be a non-empty string');
    if (field === 'country' && !/^[A-Z]{2}$/.test(text))
      throw new OptionsError('subject.country', 'must be a two-letter country code such as US');
    subject[field as keyof LighthouseSubject] = text;
  }
  return subject;
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
            'Field of https.csr that carries the subject alternative names, for a release whose API takes them. REST v3.7 documents none: without this option a device with SANs is refused at precheck.',
        },
        subject: {
          type: 'object',
          additionalProperties: false,
          description: 'Subject fields of the CSR, spelled as the REST v3.7 RAML spells them.',
          properties: {
            organization: { type: 'string', minLength: 1 },
            org_unit: { type: 'string', minLength: 1, description: 'The organisational unit (OU).' },
            locality: { type: 'string', minLength: 1 },
            state: { type: 'string', minLength: 1 },
            country: { type: 'string', pattern: '^[A-Z]{2}$' },
            email: { type: 'string', minLength: 1 },
          },
        },
      },
    },
    parse: (raw) => ({
      sanField: stringOption(raw, 'san_field'),
      subject: subjectOption(raw),
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
