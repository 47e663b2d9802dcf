import type { OptionsSpec } from '../manifest.ts';
import { stringOption } from './options.ts';

/** Route options of both Linux drivers (SSH and SSM), as the shell steps use them. */
export interface LinuxOptions {
  certificate_path: string;
  key_path: string;
  reload_command: string;
  hooks_dir?: string;
}

export const LINUX_DEFAULTS: LinuxOptions = {
  certificate_path: '/etc/ssl/ottr/fullchain.pem',
  key_path: '/etc/ssl/ottr/privkey.pem',
  reload_command: 'systemctl reload nginx',
};

const ABSOLUTE_PATH = '^/[A-Za-z0-9._/-]+$';

export const LINUX_OPTIONS: OptionsSpec<LinuxOptions> = {
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      certificate_path: {
        description: 'Absolute path of the live full-chain PEM the service reads.',
        type: 'string',
        pattern: ABSOLUTE_PATH,
      },
      key_path: {
        description: 'Absolute path of the live private key.',
        type: 'string',
        pattern: ABSOLUTE_PATH,
      },
      reload_command: {
        description: 'Command that makes the service pick up the new files, e.g. systemctl reload nginx.',
        type: 'string',
        minLength: 1,
        maxLength: 512,
      },
      hooks_dir: {
        description: 'Directory with pre/ and post/ hook scripts (Ottr parity).',
        type: 'string',
        pattern: ABSOLUTE_PATH,
      },
    },
  },
  parse(raw) {
    const hooks = stringOption(raw, 'hooks_dir');
    return {
      certificate_path: stringOption(raw, 'certificate_path', LINUX_DEFAULTS.certificate_path),
      key_path: stringOption(raw, 'key_path', LINUX_DEFAULTS.key_path),
      reload_command: stringOption(raw, 'reload_command', LINUX_DEFAULTS.reload_command),
      ...(hooks !== undefined ? { hooks_dir: hooks } : {}),
    };
  },
};
