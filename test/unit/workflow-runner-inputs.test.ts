import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.ts';
import { inputEnv, loadLocalAction, resolveInputs } from '../lab/workflow-runner/actions.ts';
import { ArtifactStore, downloadArtifact, uploadArtifact } from '../lab/workflow-runner/artifacts.ts';
import { standInFor } from '../lab/workflow-runner/stand-ins.ts';

const noDefault = () => {
  throw new Error('no template default expected');
};

describe('INPUT_* as the runner sets them', () => {
  const rotate = loadLocalAction(PROJECT_ROOT, './actions/rotate');

  it("reads the local action.yml with GitHub's action parser", () => {
    expect(rotate.inputs.map((i) => i.id)).toEqual([
      'entry',
      'root',
      'dry-run',
      'staging',
      'results-dir',
      'plan-file',
    ]);
    expect(rotate.outputs).toEqual(['rotated', 'failed', 'results-dir']);
    expect([rotate.using, rotate.main]).toEqual(['node24', 'dist/index.mjs']);
  });

  it('gives every declared input, its default where `with:` leaves it out, upper-cased with spaces as _', () => {
    const inputs = resolveInputs(
      './actions/rotate',
      rotate.inputs,
      { entry: '{}', 'DRY-RUN': 'true' },
      noDefault,
    );
    expect(inputEnv(inputs)).toEqual({
      INPUT_ENTRY: '{}',
      INPUT_ROOT: '.',
      'INPUT_DRY-RUN': 'true',
      INPUT_STAGING: 'false',
      'INPUT_RESULTS-DIR': 'ottr-results',
      'INPUT_PLAN-FILE': 'plan.json',
    });
    expect(inputEnv({ 'my input': 'x' })).toEqual({ INPUT_MY_INPUT: 'x' });
  });

  it('refuses a `with:` key the action does not declare (the runner only warns)', () => {
    expect(() =>
      resolveInputs('./actions/rotate', rotate.inputs, { entry: '{}', dryrun: 'true' }, noDefault),
    ).toThrow(
      "./actions/rotate: Unexpected input(s) 'dryrun', valid inputs are ['entry', 'root', 'dry-run', 'staging', 'results-dir', 'plan-file']",
    );
  });

  it('stand-ins match the pinned uses: by action name and refuse inputs their version does not have', () => {
    const upload = standInFor('actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02')!;
    expect(upload).toBeDefined();
    expect(standInFor('actions/cache@v4')).toBeUndefined();
    expect(() =>
      resolveInputs('actions/upload-artifact', upload.inputs, { path: 'x', paths: 'y' }, noDefault),
    ).toThrow(/Unexpected input\(s\) 'paths'/);
  });
});

describe('upload-artifact / download-artifact v4 stand-ins', () => {
  function workspace() {
    const dir = mkdtempSync(join(tmpdir(), 'ottr-wr-'));
    mkdirSync(join(dir, 'ottr-results'));
    writeFileSync(join(dir, 'ottr-results', 'fw.json'), '{}');
    writeFileSync(join(dir, 'ottr-results', '.hidden'), 'x');
    writeFileSync(join(dir, 'plan.json'), '{"plan":1}');
    return dir;
  }

  it('keeps a directory by its contents and a file by its name; a pattern downloads into one folder each', () => {
    const ws = workspace();
    const store = new ArtifactStore(join(ws, '.store'));
    expect(uploadArtifact(store, ws, { name: 'ottr-plan', path: 'plan.json' }).ok).toBe(true);
    expect(uploadArtifact(store, ws, { name: 'ottr-result-a', path: 'ottr-results/' }).ok).toBe(true);
    const other = mkdtempSync(join(tmpdir(), 'ottr-wr-'));
    expect(downloadArtifact(store, other, { name: 'ottr-plan', path: '' }).ok).toBe(true);
    expect(readFileSync(join(other, 'plan.json'), 'utf8')).toBe('{"plan":1}');
    expect(downloadArtifact(store, other, { pattern: 'ottr-result-*', path: 'ottr-results' }).ok).toBe(true);
    expect(readdirSync(join(other, 'ottr-results'))).toEqual(['ottr-result-a']);
    expect(readdirSync(join(other, 'ottr-results', 'ottr-result-a'))).toEqual(['fw.json']);
    expect(
      downloadArtifact(store, other, { pattern: 'ottr-result-*', path: 'merged', 'merge-multiple': 'true' })
        .ok,
    ).toBe(true);
    expect(readdirSync(join(other, 'merged'))).toEqual(['fw.json']);
  });

  it('a second upload of the same name is a 409 unless overwrite: true; a missing name fails the download', () => {
    const ws = workspace();
    const store = new ArtifactStore(join(ws, '.store'));
    uploadArtifact(store, ws, { name: 'ottr-plan', path: 'plan.json' });
    const again = uploadArtifact(store, ws, { name: 'ottr-plan', path: 'plan.json' });
    expect(again.ok).toBe(false);
    expect(again.message).toMatch(
      /\(409\) Conflict: an artifact with this name already exists on the workflow run/,
    );
    expect(uploadArtifact(store, ws, { name: 'ottr-plan', path: 'plan.json', overwrite: 'true' }).ok).toBe(
      true,
    );
    const missing = downloadArtifact(store, ws, { name: 'ottr-plans' });
    expect(missing).toMatchObject({
      ok: false,
      message: 'Unable to download artifact(s): Artifact not found for name: ottr-plans',
    });
  });

  it('no files: a warning by default, nothing with ignore, a failure with error', () => {
    const ws = workspace();
    const store = new ArtifactStore(join(ws, '.store'));
    expect(uploadArtifact(store, ws, { name: 'a', path: 'nothing/' }).warnings?.[0]).toMatch(
      /No files were found/,
    );
    expect(uploadArtifact(store, ws, { name: 'a', path: 'nothing/', 'if-no-files-found': 'ignore' })).toEqual(
      { ok: true, warnings: [] },
    );
    expect(uploadArtifact(store, ws, { name: 'a', path: 'nothing/', 'if-no-files-found': 'error' }).ok).toBe(
      false,
    );
    expect(store.names()).toEqual([]);
  });
});
