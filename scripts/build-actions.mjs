#!/usr/bin/env node
// Bundles each action's entry point (src/actions/main/<name>.ts) with everything it imports into one file,
// actions/<name>/dist/index.mjs, which is committed: the runner executes it without npm install.
// `node scripts/build-actions.mjs --out DIR` writes the bundles under DIR instead (the rebuild check uses it).
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out');
const outRoot = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(root, 'actions');
const names = readdirSync(join(root, 'src/actions/main'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();

for (const name of names) {
  const outfile = join(outRoot, name, 'dist', 'index.mjs');
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [join('src/actions/main', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // ssh2 loads its optional native crypto binding inside try/catch and falls back to pure JS without it.
    external: ['*.node', 'cpu-features'],
    // CommonJS dependencies call require() and read __dirname / __filename; give the ES module all three.
    banner: {
      js: [
        "import { createRequire as __ottrCreateRequire } from 'node:module';",
        "import { dirname as __ottrDirname } from 'node:path';",
        "import { fileURLToPath as __ottrFileUrlToPath } from 'node:url';",
        'const require = __ottrCreateRequire(import.meta.url);',
        'const __filename = __ottrFileUrlToPath(import.meta.url);',
        'const __dirname = __ottrDirname(__filename);',
      ].join(' '),
    },
  });
  console.log(`built ${join(outRoot, name, 'dist', 'index.mjs')}`);
}
