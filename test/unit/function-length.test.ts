import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Folders where no function (closures included in the function that holds them) may pass MAX_LINES. */
const FOLDERS = ['platforms', 'rotate'];
const MAX_LINES = 80;
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** `file:line name (N lines)` for every function of `source` longer than `max` lines. */
function longFunctions(fileName: string, source: string, max: number): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) {
        const named =
          node.name?.getText(file) ??
          (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(file) : '(anonymous)');
        found.push(`${fileName}:${start + 1} ${named} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe(`no function over ${MAX_LINES} lines in ${FOLDERS.map((f) => `src/${f}`).join(' and ')}`, () => {
  it('holds for every source file there', () => {
    const files = FOLDERS.flatMap((folder) =>
      readdirSync(join(SRC, folder), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(SRC, folder, f)),
    );
    expect(files.length).toBeGreaterThan(10);
    const long = files.flatMap((f) => longFunctions(relative(SRC, f), readFileSync(f, 'utf8'), MAX_LINES));
    expect(long).toEqual([]);
  });

  it('finds a long arrow function, method and nested closure', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const source = [
      `export const short = () => {\n${body(3)}\n};`,
      `export const long = async () => {\n${body(85)}\n};`,
      `class C {\n  method() {\n${body(90)}\n  }\n}`,
      `function outer() {\n  const inner = () => {\n${body(40)}\n  };\n${body(45)}\n}`,
    ].join('\n');
    expect(longFunctions('x.ts', source, MAX_LINES)).toEqual([
      'x.ts:6 long (87 lines)',
      'x.ts:94 method (92 lines)',
      'x.ts:187 outer (89 lines)',
    ]);
  });
});
