import { f5 } from './f5/index.ts';
import { lighthouse } from './lighthouse/index.ts';
import { linuxSsh } from './linux-ssh/index.ts';
import { linuxSsm } from './linux-ssm/index.ts';
import type { PlatformManifest } from './manifest.ts';
import { panos } from './panos/index.ts';

/**
 * Every platform, by the name a route's `platform` uses. Adding a platform is its folder plus one line here
 * (docs/adding-a-platform.md).
 */
export const PLATFORMS: readonly PlatformManifest[] = [panos, f5, lighthouse, linuxSsh, linuxSsm];

/** A set of platforms: the built-in ones, or (in tests) those plus a test-only one. */
export interface PlatformRegistry {
  readonly all: readonly PlatformManifest[];
  get(name: string): PlatformManifest | undefined;
}

export function platformRegistry(manifests: readonly PlatformManifest[]): PlatformRegistry {
  const byName = new Map(manifests.map((m) => [m.name, m]));
  if (byName.size !== manifests.length) throw new Error('two platforms share one name');
  return { all: manifests, get: (name) => byName.get(name) };
}

export const BUILT_IN_PLATFORMS: PlatformRegistry = platformRegistry(PLATFORMS);

/** The manifest of a route's `platform`, or undefined for a name no platform has. */
export function platformInfo(name: string): PlatformManifest | undefined {
  return BUILT_IN_PLATFORMS.get(name);
}
