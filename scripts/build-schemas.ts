// Writes schemas/routes.schema.json from the platform manifests (src/platforms/<name>/index.ts): the platform
// names, and each platform's route options. Run after changing a manifest's options: npm run build:schemas.
import { writeFileSync } from 'node:fs';
import { PLATFORMS } from '../src/platforms/registry.ts';
import { routesSchema } from '../src/repository/routes-schema.ts';

const file = new URL('../schemas/routes.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(routesSchema(PLATFORMS), null, 2)}\n`);
console.log(`wrote schemas/routes.schema.json (${PLATFORMS.map((p) => p.name).join(', ')})`);
