import deviceSchema from '../../schemas/device.schema.json' with { type: 'json' };
import settingsSchema from '../../schemas/settings.schema.json' with { type: 'json' };
import { BUILT_IN_PLATFORMS } from '../platforms/registry.ts';
import { routesSchema } from '../repository/routes-schema.ts';

export { commandDocs } from './help-table.ts';

/**
 * The JSON Schemas src/repository/schema.ts compiles for the built-in platforms, exactly as it passes them to
 * ajv: scripts/build-cli.mjs compiles them to code at build time, so the CLI does not compile them at each start.
 */
export function builtInSchemas(): unknown[] {
  return [deviceSchema, routesSchema(BUILT_IN_PLATFORMS.all), settingsSchema];
}
