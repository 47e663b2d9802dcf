import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Route } from '../../src/model/types.ts';
import { PLATFORMS, platformRegistry } from '../../src/platforms/registry.ts';
import { routesSchema } from '../../src/repository/routes-schema.ts';
import { schemaFindings } from '../../src/repository/schema.ts';
import { routesFindings } from '../../src/repository/settings-checks.ts';

const committed = JSON.parse(
  readFileSync(new URL('../../schemas/routes.schema.json', import.meta.url), 'utf8'),
);

describe('schemas/routes.schema.json comes from the platform manifests', () => {
  it('is what npm run build:schemas writes (rebuild it after changing a manifest)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(routesSchema(PLATFORMS))));
  });

  it('names every platform, and each platform`s options schema', () => {
    const schema = routesSchema(PLATFORMS);
    expect(schema.$defs.route.properties.platform.enum).toEqual(PLATFORMS.map((p) => p.name));
    for (const platform of PLATFORMS)
      expect(schema.$defs[`options_${platform.name.replace(/-/g, '_')}`]).toBe(platform.options.schema);
  });

  it('a platform added to a registry gets its options checked; without it the name is refused', () => {
    const echo = {
      ...PLATFORMS[0]!,
      name: 'echo-test',
      options: {
        schema: { type: 'object', additionalProperties: false, properties: { greeting: { type: 'string' } } },
        parse: () => ({}),
      },
    };
    const registry = platformRegistry([...PLATFORMS, echo]);
    const routes = (options: Record<string, unknown>) => ({
      routes: [{ name: 'echo', match: { host_platform: 'echo' }, platform: 'echo-test', options }],
    });
    expect(schemaFindings('routes', routes({ greeting: 'hi' }), registry)).toEqual([]);
    expect(schemaFindings('routes', routes({ farewell: 'bye' }), registry).map((f) => f.path)).toContainEqual(
      ['routes', 0, 'options', 'farewell'],
    );
    expect(schemaFindings('routes', routes({})).map((f) => f.path.join('.'))).toContain('routes.0.platform');
  });
});

describe("route options are read by the platform's manifest at validation", () => {
  const route = (platform: string, options?: Record<string, unknown>): Route => ({
    name: 'r',
    match: { host_platform: platform },
    platform,
    ...(options ? { options } : {}),
  });

  it('a duration that is none is refused at the option', () => {
    expect(routesFindings([route('panos', { commit_timeout: '10 minutes' })], undefined)).toEqual([
      {
        severity: 'error',
        path: ['routes', 0, 'options', 'commit_timeout'],
        message: 'must be a duration like 30d, 12h or P30D',
        at: 'value',
      },
    ]);
    expect(routesFindings([route('panos', { commit_timeout: '10m' })], undefined)).toEqual([]);
  });

  it('an option another one requires is named where it is missing', () => {
    expect(routesFindings([route('f5', { target: 'client-ssl' })], undefined)).toEqual([
      {
        severity: 'error',
        path: ['routes', 0, 'options'],
        message: 'options.client_ssl_profile is required with target client-ssl',
      },
    ]);
  });
});
