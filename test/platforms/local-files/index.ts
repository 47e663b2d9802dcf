import type { PlatformManifest } from '../../../src/platforms/manifest.ts';
import { stringOption } from '../../../src/platforms/shared/options.ts';

/** Route options of the local-files platform, as its driver uses them. */
export interface LocalFilesOptions {
  /** The device's directory: live key and chain, and the keys it makes. */
  directory: string;
}

/**
 * A test-only platform (docs/adding-a-platform.md walks through it): the "device" is a directory on the
 * runner with openssl, served over TLS by whatever reads `live.key` and `live.crt` at each handshake. It shows
 * the whole shape of a platform — manifest, client, driver, README — and touches nothing outside this folder
 * but the one registry line its test adds.
 */
export const localFiles: PlatformManifest<LocalFilesOptions> = {
  name: 'local-files',
  title: 'Key and chain files in a local directory (test only)',
  transport: 'ssh',
  connection: { fields: ['tls_port'], required: ['tls_port'] },
  keyTypes: ['ecdsa'],
  options: {
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['directory'],
      properties: {
        directory: { type: 'string', pattern: '^/', description: 'The device directory (absolute).' },
      },
    },
    parse: (raw) => ({ directory: stringOption(raw, 'directory', '/nonexistent') }),
  },
  loadDriver: async () => (await import('./driver.ts')).localFilesDriver,
};
