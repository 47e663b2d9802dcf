import type { PlatformDriver } from './contract.ts';
import { f5Driver } from './f5/driver.ts';
import { lighthouseDriver } from './lighthouse/driver.ts';
import { linuxSshDriver } from './linux-ssh/driver.ts';
import { linuxSsmDriver } from './linux-ssm/driver.ts';
import { panosDriver } from './panos/driver.ts';

/** The drivers that exist, by the name routing rules use. Adding a platform adds a line here, nothing else. */
const DRIVERS: Record<string, PlatformDriver> = {
  [linuxSshDriver.name]: linuxSshDriver,
  'linux-ssm': linuxSsmDriver(),
  [panosDriver.name]: panosDriver,
  [f5Driver.name]: f5Driver,
  [lighthouseDriver.name]: lighthouseDriver,
};

export function driverFor(platform: string): PlatformDriver | undefined {
  return DRIVERS[platform];
}
