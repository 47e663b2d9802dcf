import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseYamlMapping, yamlParseStats } from '../../src/model/yaml-source.ts';
import { loadRepository } from '../../src/repository/load.ts';
import { makeRepo, PROJECT_ROOT, runCli, type TempRepo } from '../helpers/cli.ts';

const enc = (text: string) => new TextEncoder().encode(text);
const SAMPLE = 'inventory/ams2/console-ams2-01.yaml';
const sample = () => readFileSync(join(PROJECT_ROOT, SAMPLE), 'utf8');
const withoutHeader = (text: string) => text.slice(text.indexOf('\n') + 1);

/** How many files one call parses with positions. */
async function positionalParses<T>(work: () => Promise<T> | T): Promise<{ result: T; parses: number }> {
  const before = yamlParseStats.positional;
  const result = await work();
  return { result, parses: yamlParseStats.positional - before };
}

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.cleanup();
  repo = undefined;
});

/** A scratch repository with the sample's console device written `count` times under new names. */
function repoWith(count: number, transform: (text: string, i: number) => string): TempRepo {
  repo = makeRepo();
  for (let i = 0; i < count; i++) {
    const name = `console-ams2-${String(i + 10).padStart(2, '0')}`;
    const text = sample()
      .replaceAll('console-ams2-01', name)
      .replace(/^ip_address: .*$/m, `ip_address: 198.51.100.${i + 10}`);
    repo.write(`inventory/ams2/${name}.yaml`, transform(text, i));
  }
  return repo;
}

describe('positions are computed only for what is reported', () => {
  it('a plain file is read without positions until one is asked for, and then they are exact', async () => {
    const text = 'a: 1\nb:\n  c: [x, y]\n  d: "z"\n';
    const { result, parses } = await positionalParses(() => parseYamlMapping('f.yaml', enc(text), 1000));
    expect(parses).toBe(0);
    if (!result.ok) throw new Error('expected a mapping');
    expect(result.source.hasPositions).toBe(false);
    const located = await positionalParses(() => result.source.locate(['b', 'd'], 'value'));
    expect(located.result).toEqual({ line: 4, column: 6 });
    expect(located.parses).toBe(1);
    expect(result.source.hasPositions).toBe(true);
    // The same document as the positional parser reads it.
    expect(result.source.doc.toJS()).toEqual(parseDocument(text).toJS());
    expect((await positionalParses(() => result.source.locate(['a']))).parses).toBe(0);
  });

  it('anything beyond plain YAML still goes through the positional parser at once', async () => {
    const { result, parses } = await positionalParses(() =>
      parseYamlMapping('f.yaml', enc('a: &x 1\nb: *x\n'), 1000),
    );
    expect(parses).toBe(1);
    expect(result.ok && result.source.hasPositions).toBe(true);
  });

  it('devices without the $schema line get their warning at line 1 without a positional parse', async () => {
    const r = repoWith(20, withoutHeader);
    const empty = await positionalParses(() => loadRepository(makeRepo().root));
    const { result, parses } = await positionalParses(() => loadRepository(r.root));
    // Only settings.yaml and routes.yaml, as in a repository without devices.
    expect(parses).toBe(empty.parses);
    const warnings = result.problems.filter((p) => p.file.startsWith('inventory/'));
    expect(warnings).toHaveLength(20);
    for (const w of warnings) expect(w).toMatchObject({ severity: 'warning', line: 1, column: 1 });
    expect(result.records.filter((rec) => rec.device)).toHaveLength(20);
  });

  it('a file with a real finding is parsed with positions, and only that file', async () => {
    const r = repoWith(20, (text, i) =>
      i === 3 ? withoutHeader(text).replace(/^ip_address: .*$/m, 'ip_address: 10.0.0.300') : text,
    );
    const empty = await positionalParses(() => loadRepository(makeRepo().root));
    const { result, parses } = await positionalParses(() => loadRepository(r.root));
    expect(parses).toBe(empty.parses + 1);
    const error = result.problems.find((p) => p.severity === 'error');
    const lines = withoutHeader(sample()).split('\n');
    expect(error).toMatchObject({
      file: 'inventory/ams2/console-ams2-13.yaml',
      field: 'ip_address',
      line: lines.findIndex((l) => l.startsWith('ip_address:')) + 1,
    });
  });

  it('OTTR_TIMINGS=1 reports the phases and how many files needed positions', async () => {
    const r = repoWith(5, withoutHeader);
    const run = await runCli(['validate', '--root', r.root], PROJECT_ROOT, { OTTR_TIMINGS: '1' });
    const timings = /^ottr timings: (.*)$/m.exec(run.stderr)?.[1];
    expect(timings).toBeDefined();
    for (const phase of ['startup', 'load', 'read', 'validate', 'rest', 'total', 'files', 'positional'])
      expect(timings, phase).toMatch(new RegExp(`\\b${phase}=[\\d.]+`));
    expect((await runCli(['validate', '--root', r.root])).stderr).not.toContain('timings');
  });
});
