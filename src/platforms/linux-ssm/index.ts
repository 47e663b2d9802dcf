import type { PlatformManifest } from '../manifest.ts';
import { LINUX_OPTIONS, type LinuxOptions } from '../shared/linux-options.ts';

export const linuxSsm: PlatformManifest<LinuxOptions> = {
  name: 'linux-ssm',
  title: 'Linux over AWS Systems Manager',
  transport: 'ssm',
  connection: { fields: ['tls_port', 'instance_id', 'instance_tag', 'region', 'sudo'], required: [] },
  keyTypes: ['rsa', 'ecdsa'],
  options: LINUX_OPTIONS,
  aliases: {
    // `otter-linux-aws-ssm-…` matches two of these and one of linux-ssh's: the SSM task it is.
    ottrTaskWords: ['ssm', 'linux', 'ubuntu', 'debian', 'rhel', 'centos'],
    // Ottr ran /opt/otter/hooks/{pre,post}/*.sh around the rotation.
    ottrParityOptions: { hooks_dir: '/opt/otter/hooks' },
  },
  loadDriver: async () => (await import('./driver.ts')).linuxSsmDriver(),
};
