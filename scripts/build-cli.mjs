#!/usr/bin/env node
// Bundles the CLI (src/cli/main.ts and everything it imports) into dist/cli/, which is committed: bin/ottr.js
// runs it without a transpiler and without a build step (validate.yml installs with --ignore-scripts).
// Code splitting puts every command, and the heavy libraries only some commands use (AWS SDK, ssh2,
// acme-client), into chunks under dist/cli/chunks/ that load when a command needs them.
// The build is deterministic: no timestamps, no absolute paths; its identifier (`ottr --version`) is a hash of
// the bundle's own code, since a committed bundle cannot contain the commit it is committed in.
// `node scripts/build-cli.mjs --out DIR` writes the bundle under DIR instead (the rebuild check uses it);
// `--metafile FILE` also writes esbuild's metafile (which source went into which chunk) for the lazy-loading test.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out');
const outDir = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(root, 'dist/cli');
const metaFlag = process.argv.indexOf('--metafile');
const metafile = metaFlag > 0 ? resolve(process.argv[metaFlag + 1]) : undefined;
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// The options src/repository/schema.ts gives ajv: the precompiled validators are used only when it still does.
const AJV_OPTIONS = { allErrors: true, strict: true, verbose: true, allowUnionTypes: true };
const AJV_FORMATS = ['date-time'];
const precompiledKey = (options, formats, schema) => JSON.stringify([options, formats, schema]);

/**
 * ajv compiles the JSON Schemas to code at every start, which costs more than validating a whole sample
 * repository. This plugin bundles them precompiled (ajv's standalone code, generated here with the same
 * options): src/repository/schema.ts gets an Ajv2020 whose compile() returns the precompiled validator when
 * options, formats and schema are exactly the ones compiled here, and compiles as before otherwise (a changed
 * option, a test's extra platform).
 */
async function precompiledAjvPlugin(schemas) {
  const { default: ajvModule } = await import('ajv/dist/2020.js');
  const { default: formatsModule } = await import('ajv-formats');
  const { default: standaloneModule } = await import('ajv/dist/standalone/index.js');
  const modules = schemas.map((schema) => {
    const ajv = new ajvModule.default({ ...AJV_OPTIONS, code: { source: true, esm: true } });
    formatsModule.default(ajv, AJV_FORMATS);
    return standaloneModule.default(ajv, ajv.compile(schema));
  });
  const keys = schemas.map((schema) => precompiledKey(AJV_OPTIONS, AJV_FORMATS, schema));
  const wrapper = `import real from 'ajv/dist/2020.js';
${modules.map((_, i) => `import v${i} from 'ottr-precompiled:${i}';`).join('\n')}
const precompiled = new Map([${keys.map((key, i) => `[${JSON.stringify(key)}, v${i}]`).join(', ')}]);
class Ajv2020 extends real.default {
  constructor(options = {}) {
    super(options);
    this.ottrOptions = options;
  }
  addFormat(name, format) {
    (this.ottrFormats ??= []).push(name);
    return super.addFormat(name, format);
  }
  compile(schema, meta) {
    const hit = precompiled.get(JSON.stringify([this.ottrOptions, this.ottrFormats ?? [], schema]));
    return hit ?? super.compile(schema, meta);
  }
}
export default { ...real, default: Ajv2020 };
`;
  return {
    name: 'precompiled-ajv',
    setup(b) {
      b.onResolve({ filter: /^ajv\/dist\/2020\.js$/ }, (args) =>
        args.importer.endsWith(join('src', 'repository', 'schema.ts'))
          ? { path: 'ajv-2020', namespace: 'ottr-ajv' }
          : undefined,
      );
      b.onResolve({ filter: /^ottr-precompiled:/ }, (args) => ({ path: args.path, namespace: 'ottr-ajv' }));
      b.onLoad({ filter: /.*/, namespace: 'ottr-ajv' }, (args) => ({
        contents: args.path === 'ajv-2020' ? wrapper : modules[Number(args.path.split(':')[1])],
        resolveDir: root,
        loader: 'js',
      }));
    },
  };
}

/**
 * One build in memory. `id` is the identifier `ottr --version` prints; `docs` every command's help, flags and
 * sub-commands (src/cli/help-table.ts), so `--help` and `completion` need not load the commands.
 */
function bundle(id, docs, plugins = [], extraEntries = {}) {
  return build({
    plugins,
    absWorkingDir: root,
    entryPoints: { main: 'src/cli/main.ts', ...extraEntries },
    outdir: outDir,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    write: false,
    metafile: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Whitespace and syntax only: identifiers stay, so a stack trace (OTTR_DEBUG=1) still names functions.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: {
      __OTTR_BUILD__: JSON.stringify({ version, bundle: id }),
      __OTTR_COMMAND_DOCS__: docs === undefined ? 'undefined' : JSON.stringify(docs),
    },
    // jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot follow; its ES module build bundles.
    alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
    // ssh2 loads its optional native crypto binding inside try/catch and falls back to pure JS without it.
    external: ['*.node', 'cpu-features'],
    // CommonJS dependencies call require() and read __dirname / __filename; give every ES module chunk all three.
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
}

const files = (result) =>
  result.outputFiles
    .map((f) => ({ path: relative(outDir, f.path).split('\\').join('/'), contents: f.contents }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));

function writeFiles(dir, outputs) {
  rmSync(dir, { recursive: true, force: true });
  for (const file of outputs) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.contents);
  }
}

// The commands' docs and the schemas, from a first build run in a child process (loading every command loads
// libraries that keep timers): the commands themselves say what they take.
const scratch = mkdtempSync(join(tmpdir(), 'ottr-cli-build-'));
let docs;
let schemas;
try {
  writeFiles(scratch, files(await bundle('unset', undefined, [], { 'build-info': 'src/cli/build-info.ts' })));
  const read = `const info = await import(${JSON.stringify(pathToFileURL(join(scratch, 'build-info.mjs')).href)});
process.stdout.write(JSON.stringify({ docs: await info.commandDocs(), schemas: info.builtInSchemas() }));
process.exit(0);`;
  ({ docs, schemas } = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', read], { encoding: 'utf8' }),
  ));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const plugins = [await precompiledAjvPlugin(schemas)];

// Then without an identifier; the identifier is the hash of that code.
const hash = createHash('sha256');
for (const file of files(await bundle('unset', docs, plugins)))
  hash.update(`${file.path}\0`).update(file.contents);
const id = hash.digest('hex').slice(0, 16);

const result = await bundle(id, docs, plugins);
const final = files(result);
writeFiles(outDir, final);
if (metafile) writeFileSync(metafile, JSON.stringify(result.metafile, null, 1));
const size = final.reduce((sum, f) => sum + f.contents.length, 0);
console.log(
  `built ${relative(process.cwd(), outDir) || '.'}: ${final.length} files, ${(size / 1e6).toFixed(1)} MB, bundle ${id}`,
);
