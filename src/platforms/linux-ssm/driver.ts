import type { DriverContext, DriverSession, PlatformDriver } from '../contract.ts';
import type { LinuxOptions } from '../shared/linux-options.ts';
import { linuxSession } from '../shared/linux-steps.ts';
import { connectSsm, type SsmDriverOptions } from './client.ts';

export type { SsmDriverOptions } from './client.ts';

/** Linux through AWS Systems Manager Run Command (`AWS-RunShellScript`): no inbound SSH needed. */
export function linuxSsmDriver(driverOptions: SsmDriverOptions = {}): PlatformDriver<LinuxOptions> {
  return {
    name: 'linux-ssm',
    async connect(context: DriverContext<LinuxOptions>): Promise<DriverSession> {
      const { device, options } = context;
      const connection = device.connection ?? {};
      const ssm = await connectSsm(context, driverOptions);
      return linuxSession(options, connection.sudo === true, {
        run: ssm.run,
        stdin: false,
        endpoint: {
          host: device.ip_address ?? device.common_name,
          port: connection.tls_port ?? 443,
          servername: device.common_name,
        },
        close: async () => {
          ssm.close();
        },
      });
    },
  };
}
