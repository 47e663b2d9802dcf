import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layering of src/, written down once: each row may import its own folder and the rows above it, never a
 * row below it, and folders of one row never import each other. Folder READMEs refer to this table.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['net'],
  ['model', 'github'],
  ['routing', 'dns', 'verify'],
  ['acme', 'platforms'],
  ['repository'],
  ['secrets'],
  ['plan'],
  ['rotate'],
  ['gitops', 'notify'],
  ['status', 'import'],
  ['onboard'],
  ['sync'],
  ['jobs'],
  ['actions', 'cli'],
];

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const rankOf = new Map(LAYERS.flatMap((row, rank) => row.map((folder) => [folder, rank] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** Every relative import (static, `export … from`, dynamic) of a file, as a folder of src/. */
function importedFolders(file: string): { folder: string; spec: string }[] {
  const text = readFileSync(file, 'utf8');
  const found: { folder: string; spec: string }[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = relative(SRC, resolve(dirname(file), match[1]!));
    if (target.startsWith('..')) continue; // schemas/*.json and the like, outside src/
    found.push({ folder: target.split('/')[0]!, spec: match[1]! });
  }
  return found;
}

/** `file (a → b)` for every import of a folder of the same row or a lower one (`file` relative to src/). */
function layerViolations(
  files: readonly { file: string; imports: readonly { folder: string; spec: string }[] }[],
) {
  const violations: string[] = [];
  for (const { file, imports } of files) {
    const from = file.split('/')[0]!;
    const rank = rankOf.get(from);
    if (rank === undefined) continue;
    for (const { folder, spec } of imports) {
      if (folder === from) continue;
      const target = rankOf.get(folder);
      if (target === undefined || target >= rank)
        violations.push(`${file} imports ${spec} (${from} → ${folder})`);
    }
  }
  return violations;
}

describe('layering of src/', () => {
  const files = sources(SRC);

  it('knows every folder of src/', () => {
    const folders = new Set(
      files.map((f) => relative(SRC, f).split('/')[0]!).filter((f) => !f.endsWith('.ts')),
    );
    expect([...folders].filter((f) => !rankOf.has(f))).toEqual([]);
  });

  it('no folder imports a folder of its own row or a row below it', () => {
    const graph = files.map((f) => ({ file: relative(SRC, f), imports: importedFolders(f) }));
    expect(graph.length).toBeGreaterThan(100);
    expect(layerViolations(graph)).toEqual([]);
  });

  it('would catch an import up, an import across a row, and a folder the table does not name', () => {
    const imports = (...folders: string[]) =>
      folders.map((folder) => ({ folder, spec: `../${folder}/x.ts` }));
    expect(
      layerViolations([
        { file: 'model/checks.ts', imports: imports('util', 'platforms') },
        { file: 'notify/issues.ts', imports: imports('model', 'gitops') },
        { file: 'cli/main.ts', imports: imports('jobs', 'nowhere') },
        { file: 'actions/plan-action.ts', imports: imports('jobs', 'plan', 'util') },
      ]),
    ).toEqual([
      'model/checks.ts imports ../platforms/x.ts (model → platforms)',
      'notify/issues.ts imports ../gitops/x.ts (notify → gitops)',
      'cli/main.ts imports ../nowhere/x.ts (cli → nowhere)',
    ]);
    expect(importedFolders(join(SRC, 'repository', 'load.ts')).map((i) => i.folder)).toContain('routing');
  });
});
