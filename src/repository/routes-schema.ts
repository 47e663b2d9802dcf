import committed from '../../schemas/routes.schema.json' with { type: 'json' };
import type { PlatformManifest } from '../platforms/manifest.ts';

type Json = Record<string, unknown>;
interface RoutesSchema extends Json {
  $defs: Json & { route: Json & { properties: Json & { platform: Json }; allOf?: unknown[] } };
}

const optionsDef = (platform: PlatformManifest) => `options_${platform.name.replace(/-/g, '_')}`;

/**
 * schemas/routes.schema.json with its per-platform parts — the `platform` enum, one `if platform … then options`
 * rule and one `$defs.options_<name>` per platform — rebuilt from `platforms`' manifests. The rest (rule
 * names, `match`) stays as committed. `npm run build:schemas` writes this for the built-in platforms, and a
 * test checks the committed file is what it writes.
 */
export function routesSchema(platforms: readonly PlatformManifest[]): RoutesSchema {
  const schema = structuredClone(committed) as unknown as RoutesSchema;
  const defs: Json = {};
  for (const [key, value] of Object.entries(schema.$defs)) if (!key.startsWith('options_')) defs[key] = value;
  const route = defs.route as RoutesSchema['$defs']['route'];
  route.properties.platform = { ...route.properties.platform, enum: platforms.map((p) => p.name) };
  route.allOf = platforms.map((platform) => ({
    if: { required: ['platform'], properties: { platform: { const: platform.name } } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, never awaited
    then: { properties: { options: { $ref: `#/$defs/${optionsDef(platform)}` } } },
  }));
  for (const platform of platforms) defs[optionsDef(platform)] = platform.options.schema;
  schema.$defs = defs as RoutesSchema['$defs'];
  return schema;
}
