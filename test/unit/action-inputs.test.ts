import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  flag,
  githubContext,
  githubToken,
  jobSecrets,
  list,
  type RepositoryReader,
  repositoryDefaultBranch,
  runAction,
  text,
} from '../../src/actions/inputs.ts';

/** The actions' inputs as the runner passes them (INPUT_<NAME>), and the context they write to GitHub with. */

let written: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  written = [];
});
function captureStdout() {
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
}

describe('inputs', () => {
  it('text is trimmed, and empty when absent', () => {
    vi.stubEnv('INPUT_DATA-CENTER', '  sfo1 \n');
    expect(text('data-center')).toBe('sfo1');
    expect(text('not-given')).toBe('');
  });

  it.each([
    ['', false],
    ['false', false],
    ['FALSE', false],
    ['true', true],
    [' True ', true],
  ])('flag %j is %s', (value, expected) => {
    vi.stubEnv('INPUT_DRY-RUN', value);
    expect(flag('dry-run')).toBe(expected);
  });

  it('a flag that is neither true nor false is an error naming the input', () => {
    vi.stubEnv('INPUT_DRY-RUN', 'yes');
    expect(() => flag('dry-run')).toThrow(new Error('input dry-run must be true or false, not "yes"'));
  });

  it('list splits on commas, spaces and new lines, dropping empties', () => {
    vi.stubEnv('INPUT_DEVICES', ' fw1, fw2\nlb1  ,,\n\tweb1 ');
    expect(list('devices')).toEqual(['fw1', 'fw2', 'lb1', 'web1']);
    expect(list('absent')).toEqual([]);
  });
});

describe('jobSecrets', () => {
  it('masks every filled slot before returning it, and reads no other variable', () => {
    captureStdout();
    const source = jobSecrets(
      ['FW_API', 'EMPTY'],
      { OTTR_SECRET_1: 'fw-key', OTTR_SECRET_2: '', GITHUB_TOKEN: 'ghs_x' },
      8,
    );
    expect(source.get('FW_API')).toBe('fw-key');
    expect(source.get('GITHUB_TOKEN')).toBeUndefined();
    expect(written.join('')).toBe('::add-mask::fw-key\n');
  });
});

describe('runAction', () => {
  it('fails the step with the error message only', async () => {
    captureStdout();
    const exitCode = process.exitCode;
    try {
      runAction(async () => {
        throw new Error('the plan file is missing');
      });
      await new Promise((r) => setTimeout(r, 10));
      expect(written.join('')).toBe('::error::the plan file is missing\n');
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = exitCode;
    }
  });

  it('a main that succeeds fails nothing', async () => {
    captureStdout();
    let ran = false;
    runAction(async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toBe(true);
    expect(written).toEqual([]);
  });
});

describe('githubContext', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const event = (text: string) => {
    dir = mkdtempSync(join(tmpdir(), 'ottr-event-'));
    writeFileSync(join(dir, 'event.json'), text);
    return join(dir, 'event.json');
  };

  it('reads the repository, the API, the run and the default branch from the runner', () => {
    expect(
      githubContext({
        GITHUB_REPOSITORY: 'acme/pki',
        GITHUB_API_URL: 'https://ghe.example/api/v3',
        GITHUB_SERVER_URL: 'https://ghe.example',
        GITHUB_RUN_ID: '42',
        GITHUB_EVENT_PATH: event('{"repository": {"default_branch": "trunk"}}'),
      }),
    ).toEqual({
      owner: 'acme',
      repo: 'pki',
      apiUrl: 'https://ghe.example/api/v3',
      serverUrl: 'https://ghe.example',
      runUrl: 'https://ghe.example/acme/pki/actions/runs/42',
      eventDefaultBranch: 'trunk',
    });
  });

  it('defaults to github.com, without a run URL when there is no run, and names no default branch it was not told', () => {
    expect(githubContext({ GITHUB_REPOSITORY: 'acme/pki' })).toEqual({
      owner: 'acme',
      repo: 'pki',
      apiUrl: 'https://api.github.com',
      serverUrl: 'https://github.com',
    });
  });

  it.each([
    ['an unreadable event', '{not json'],
    ['an event without a repository', '{}'],
    ['an empty default branch', '{"repository": {"default_branch": ""}}'],
    ['a null event', 'null'],
  ])('%s names no default branch (never a guessed main)', (_what, text) => {
    expect(
      githubContext({ GITHUB_REPOSITORY: 'acme/pki', GITHUB_EVENT_PATH: event(text) }).eventDefaultBranch,
    ).toBeUndefined();
  });

  // A scheduled run's payload as GitHub sends it: the cron line and the workflow file, no repository object.
  // GitHub runs it on the default branch: GITHUB_REF is refs/heads/<default branch> ("Events that trigger
  // workflows", docs.github.com, schedule: GITHUB_SHA "Last commit on default branch", GITHUB_REF "Default branch").
  const schedulePayload = '{"schedule": "43 6 * * 1", "workflow": ".github/workflows/sync.yml"}';

  it("takes a scheduled run's default branch from GITHUB_REF, its payload having no repository", () => {
    expect(
      githubContext({
        GITHUB_REPOSITORY: 'acme/pki',
        GITHUB_EVENT_NAME: 'schedule',
        GITHUB_REF: 'refs/heads/trunk',
        GITHUB_EVENT_PATH: event(schedulePayload),
      }).eventDefaultBranch,
    ).toBe('trunk');
  });

  it("prefers the payload's repository to GITHUB_REF (a dispatch may run on any branch)", () => {
    expect(
      githubContext({
        GITHUB_REPOSITORY: 'acme/pki',
        GITHUB_EVENT_NAME: 'workflow_dispatch',
        GITHUB_REF: 'refs/heads/feature',
        GITHUB_EVENT_PATH: event(
          '{"inputs": {}, "ref": "refs/heads/feature", "repository": {"default_branch": "trunk"}}',
        ),
      }).eventDefaultBranch,
    ).toBe('trunk');
  });

  it.each([
    ['a push to another branch', 'push', 'refs/heads/feature'],
    ['a pull request', 'pull_request', 'refs/pull/7/merge'],
    ['a schedule with a tag ref', 'schedule', 'refs/tags/v1'],
    ['a schedule without GITHUB_REF', 'schedule', undefined],
  ])('does not take GITHUB_REF for the default branch on %s', (_what, eventName, ref) => {
    expect(
      githubContext({
        GITHUB_REPOSITORY: 'acme/pki',
        GITHUB_EVENT_NAME: eventName,
        ...(ref === undefined ? {} : { GITHUB_REF: ref }),
        GITHUB_EVENT_PATH: event(eventName === 'schedule' ? schedulePayload : '{}'),
      }).eventDefaultBranch,
    ).toBeUndefined();
  });

  it.each([undefined, '', 'acme', '/pki', 'acme/'])('refuses GITHUB_REPOSITORY %j', (repository) => {
    expect(() => githubContext(repository === undefined ? {} : { GITHUB_REPOSITORY: repository })).toThrow(
      new Error('GITHUB_REPOSITORY is not set (owner/repo); run this inside a workflow'),
    );
  });
});

describe('repositoryDefaultBranch', () => {
  const where = { owner: 'acme', repo: 'pki' };
  const api = (get: RepositoryReader['rest']['repos']['get']) => {
    const spy = vi.fn(get);
    return { octokit: { rest: { repos: { get: spy } } }, spy };
  };

  it('keeps the branch the run already knows, without asking the API', async () => {
    const { octokit, spy } = api(async () => ({ data: { default_branch: 'other' } }));
    await expect(repositoryDefaultBranch('trunk', octokit, where)).resolves.toBe('trunk');
    expect(spy).not.toHaveBeenCalled();
  });

  it('asks the API (repos/get) when the event did not say', async () => {
    const { octokit, spy } = api(async () => ({ data: { default_branch: 'trunk' } }));
    await expect(repositoryDefaultBranch(undefined, octokit, where)).resolves.toBe('trunk');
    expect(spy).toHaveBeenCalledWith({ owner: 'acme', repo: 'pki' });
  });

  it('fails clearly, naming the base input, when the API cannot tell either', async () => {
    const { octokit } = api(async () => {
      throw new Error('Not Found');
    });
    await expect(repositoryDefaultBranch(undefined, octokit, where)).rejects.toThrow(
      'the event does not name the default branch and the API did not either (Not Found); set the input base',
    );
    const empty = api(async () => ({ data: { default_branch: '' } }));
    await expect(repositoryDefaultBranch(undefined, empty.octokit, where)).rejects.toThrow(
      /set the input base/,
    );
  });
});

describe('githubToken', () => {
  it('is required unless it is a dry run', () => {
    expect(() => githubToken(false)).toThrow(
      new Error('input github-token is required (an App token, or github.token)'),
    );
    expect(githubToken(true)).toBe('');
    vi.stubEnv('INPUT_GITHUB-TOKEN', ' ghs_abc ');
    expect(githubToken(false)).toBe('ghs_abc');
  });
});
