import type { PlatformManifest } from '../manifest.ts';
import { LINUX_OPTIONS, type LinuxOptions } from '../shared/linux-options.ts';

export const linuxSsh: PlatformManifest<LinuxOptions> = {
  name: 'linux-ssh',
  title: 'Linux over SSH',
  transport: 'ssh',
  connection: {
    fields: ['port', 'tls_port', 'credentials', 'passphrase_credentials', 'username', 'ssh_host_key', 'sudo'],
    required: ['credentials', 'ssh_host_key'],
  },
  keyTypes: ['rsa', 'ecdsa'],
  options: LINUX_OPTIONS,
  aliases: {
    ottrTaskWords: ['linux', 'ubuntu', 'debian', 'rhel', 'centos'],
    defaultCredentials: 'LINUX_SSH_KEY',
  },
  loadDriver: async () => (await import('./driver.ts')).linuxSshDriver,
};
