import type { DriverContext, DriverSession, PlatformDriver } from '../contract.ts';
import { guardedDriver } from '../shared/credential-guard.ts';
import type { LinuxOptions } from '../shared/linux-options.ts';
import { linuxSession } from '../shared/linux-steps.ts';
import { connectSsh } from './client.ts';

export { hostKeyFingerprint } from './client.ts';

/**
 * Linux over SSH (ssh2): host key pinned before authentication, key authentication, openssl on the host. No
 * message carries any line of the private key or its passphrase (the guard cuts them out).
 */
export const linuxSshDriver: PlatformDriver<LinuxOptions> = guardedDriver(
  'linux-ssh',
  async (context: DriverContext<LinuxOptions>): Promise<DriverSession> => {
    const { device, options } = context;
    const connection = device.connection ?? {};
    const ssh = await connectSsh(context);
    return linuxSession(options, connection.sudo === true, {
      run: ssh.run,
      stdin: true,
      endpoint: { host: ssh.host, port: connection.tls_port ?? 443, servername: device.common_name },
      close: async () => {
        ssh.close();
      },
    });
  },
);
