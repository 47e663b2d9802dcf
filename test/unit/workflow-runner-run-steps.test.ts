import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, PROJECT_ROOT } from '../helpers/cli.ts';
import { git } from '../helpers/git.ts';
import { openPullRequest } from '../lab/workflow-runner/events.ts';
import { npmShimScript } from '../lab/workflow-runner/npm-shim.ts';
import { shellCommand } from '../lab/workflow-runner/run-step.ts';
import { loadWorkflow, runWorkflow, type WorkflowRunOptions } from '../lab/workflow-runner/runner.ts';
import { requestedMajor } from '../lab/workflow-runner/setup-node.ts';
import {
  parseCommand,
  parseEnvironmentFile,
  parsePathFile,
  WorkflowCommands,
} from '../lab/workflow-runner/workflow-commands.ts';

const CHECKOUT = 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683';
const SETUP_NODE = 'actions/setup-node@39370e3970a6d050c480ffad4ff0ed4d3fdee5af';

/** A bare origin whose main holds `files`. */
function originWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-wr-origin-'));
  const origin = join(dir, 'origin.git');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  const seed = join(dir, 'seed');
  mkdirSync(seed);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(seed, path, '..'), { recursive: true });
    writeFileSync(join(seed, path), content);
  }
  git(seed, 'init', '--quiet', '--initial-branch=main');
  git(seed, 'add', '.');
  git(seed, 'commit', '--quiet', '-m', 'seed');
  git(seed, 'push', '--quiet', origin, 'main');
  return origin;
}

function options(origin: string, overrides: Partial<WorkflowRunOptions> = {}): WorkflowRunOptions {
  return {
    event: { name: 'workflow_dispatch' },
    repository: 'acme/pki',
    token: 'ghs_test',
    apiUrl: 'http://127.0.0.1:1',
    serverUrl: 'http://127.0.0.1:1',
    runners: [{ name: 'hosted', labels: ['ubuntu-latest'], capacity: 5 }],
    lab: { origin, awsCredentials: { accessKeyId: 'a', secretAccessKey: 'b' }, appToken: 't' },
    dir: mkdtempSync(join(tmpdir(), 'ottr-wr-run-')),
    noRunnerMs: 50,
    ...overrides,
  };
}

const run = async (yaml: string, origin = originWith({ 'README.md': 'hello\n' }), more = {}) =>
  runWorkflow(await loadWorkflow('test.yml', yaml), options(origin, more));

describe('shell: as the runner runs it on Linux', () => {
  it('none, bash, sh and a custom {0} template; other shells refused', () => {
    expect(shellCommand(undefined, '/t/s.sh')).toEqual(['bash', '-e', '/t/s.sh']);
    expect(shellCommand('bash', '/t/s.sh')).toEqual([
      'bash',
      '--noprofile',
      '--norc',
      '-eo',
      'pipefail',
      '/t/s.sh',
    ]);
    expect(shellCommand('sh', '/t/s.sh')).toEqual(['sh', '-e', '/t/s.sh']);
    expect(shellCommand('bash -x {0}', '/t/s.sh')).toEqual(['bash', '-x', '/t/s.sh']);
    expect(() => shellCommand('python', '/t/s.sh')).toThrow(/python is not installed/);
    expect(() => shellCommand('zsh', '/t/s.sh')).toThrow(/must contain \{0\}/);
  });
});

describe('workflow commands and environment files', () => {
  it('reads ::error with its properties unescaped, masks ::add-mask:: values, honours stop-commands', () => {
    expect(parseCommand('  ::error file=a%2Cb.yaml,line=3,col=5,title=x%3Ay::bad%0Aline %25')).toEqual({
      name: 'error',
      properties: { file: 'a,b.yaml', line: '3', col: '5', title: 'x:y' },
      data: 'bad\nline %',
    });
    expect(parseCommand('echo ::error::no')).toBeUndefined();
    const commands = new WorkflowCommands(['s3cret-value']);
    expect(commands.line('token is s3cret-value', 'step')).toBe('token is ***');
    expect(commands.line('::add-mask::hunter2', 'step')).toBeUndefined();
    expect(commands.line('::warning file=x.yaml,line=2::hunter2 leaked', 'step')).toBe('Warning: *** leaked');
    expect(commands.line('::stop-commands::pause-1', 'step')).toBeUndefined();
    expect(commands.line('::error::not an annotation', 'step')).toBe('::error::not an annotation');
    expect(commands.line('::pause-1::', 'step')).toBeUndefined();
    expect(commands.line('::notice title=t::n', 'step')).toBe('Notice: n');
    expect(commands.annotations).toEqual([
      { level: 'warning', message: '*** leaked', file: 'x.yaml', line: 2, step: 'step' },
      { level: 'notice', message: 'n', title: 't', step: 'step' },
    ]);
  });

  it('GITHUB_OUTPUT / GITHUB_ENV: name=value and name<<DELIMITER; a missing delimiter is an error', () => {
    expect(parseEnvironmentFile('a=1\n\nb<<EOF\nline 1\nline=2\nEOF\nc=x<<y\n', 'output')).toEqual({
      a: '1',
      b: 'line 1\nline=2',
      c: 'x<<y',
    });
    expect(() => parseEnvironmentFile('b<<EOF\nno end\n', 'output')).toThrow(
      "Unable to process file command 'output' successfully. Invalid value. Matching delimiter not found 'EOF'",
    );
    expect(() => parseEnvironmentFile('=1\n', 'env')).toThrow(/Name must not be empty/);
    expect(() => parseEnvironmentFile('just text\n', 'env')).toThrow(/Invalid format 'just text'/);
    expect(parsePathFile('/a\n/b\n')).toEqual(['/b', '/a']);
  });
});

const FILE_COMMANDS = `
name: run steps
on: workflow_dispatch
env:
  FROM_WORKFLOW: w
defaults:
  run:
    working-directory: sub
jobs:
  steps:
    runs-on: ubuntu-latest
    env:
      FROM_JOB: j
    defaults:
      run:
        shell: bash
    outputs:
      greeting: \${{ steps.out.outputs.greeting }}
    steps:
      - run: mkdir -p sub/deeper tools
        working-directory: .
      - id: out
        env:
          FROM_STEP: s
        run: |
          echo "event \${{ github.event_name }} in $(basename "$PWD"): $FROM_WORKFLOW$FROM_JOB$FROM_STEP"
          {
            echo 'greeting<<END'
            echo 'hello'
            echo 'world'
            echo 'END'
          } >> "$GITHUB_OUTPUT"
          echo "EXPORTED=yes" >> "$GITHUB_ENV"
          printf '#!/bin/sh\\necho tool ran\\n' > ../tools/lab-tool && chmod +x ../tools/lab-tool
          echo "$GITHUB_WORKSPACE/tools" >> "$GITHUB_PATH"
          echo "## first" >> "$GITHUB_STEP_SUMMARY"
          echo "::error file=inventory/x.yaml,line=4,col=7,title=common_name::bad name"
          echo "::add-mask::masked-value"
          echo "the value is masked-value"
      - name: Later
        working-directory: sub/deeper
        run: |
          echo "cwd $(basename "$PWD") exported=$EXPORTED greeting=\${{ steps.out.outputs.greeting }}" | tr '\\n' ' '
          echo
          lab-tool
          test -f "$GITHUB_EVENT_PATH" && test -d "$RUNNER_TEMP" && echo "ci=$CI sha=$GITHUB_SHA"
          echo "## second" >> "$GITHUB_STEP_SUMMARY"
      - name: Pipefail
        run: false | true
      - name: Bash -e without pipefail
        shell: sh
        run: false | true
`;

describe('run: steps through the runner', () => {
  it('evaluates expressions first, honours env and defaults, applies the file commands, collects annotations', async () => {
    const origin = originWith({ 'README.md': 'hello\n' });
    const sha = git(origin, 'rev-parse', 'main').trim();
    const result = await run(FILE_COMMANDS, origin);
    const job = result.jobs[0]!;
    const [, out, later, pipefail, sh] = job.steps;
    expect(out!.log).toEqual(['event workflow_dispatch in sub: wjs', 'Error: bad name', 'the value is ***']);
    expect(out!.outputs).toEqual({ greeting: 'hello\nworld' });
    expect(later!.log).toEqual([
      'cwd deeper exported=yes greeting=hello world ',
      'tool ran',
      `ci=true sha=${sha}`,
    ]);
    expect(job.outputs).toEqual({ greeting: 'hello\nworld' });
    expect(job.summary).toBe('## first\n## second\n');
    expect(job.annotations).toEqual([
      {
        level: 'error',
        message: 'bad name',
        file: 'inventory/x.yaml',
        line: 4,
        col: 7,
        title: 'common_name',
        step: `Run echo "event \${{ github.event_name }} in $(basename "$PWD"): $FROM_WORKFLOW$FROM_JOB$FROM_STEP"`,
      },
      { level: 'error', message: 'Process completed with exit code 1.', step: 'Pipefail' },
    ]);
    // shell: bash (the job default) has pipefail; sh -e does not.
    expect(pipefail!.conclusion).toBe('failure');
    expect(job.message).toBe('Pipefail: Process completed with exit code 1.');
    expect(sh!.conclusion).toBe('skipped');
    expect(job.conclusion).toBe('failure');
  });

  it("runs the script YAML gives (a block's indentation removed), with quotes and a heredoc around expressions", async () => {
    const result = await run(`
on: workflow_dispatch
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          cat <<EOF
          it's \${{ github.event_name }}, isn't it? {braces} '\${{ 'quoted' }}'
          EOF
`);
    expect(result.jobs[0]!.steps[0]!.log).toEqual(["it's workflow_dispatch, isn't it? {braces} 'quoted'"]);
  });

  it('a missing working-directory fails before the shell starts; failure() runs the next step', async () => {
    const result = await run(`
on: workflow_dispatch
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: first
        run: echo "x=1" >> "$GITHUB_OUTPUT"
        working-directory: nowhere
      - if: failure()
        run: echo "after=\${{ steps.first.outputs.x }}" >> "$GITHUB_STEP_SUMMARY"
`);
    const job = result.jobs[0]!;
    expect(job.steps.map((s) => s.conclusion)).toEqual(['failure', 'success']);
    expect(job.message).toMatch(/with working directory '.*\/nowhere'\. No such file or directory/);
    // A failed run: step has no outputs: any name reads as null (as on GitHub).
    expect(job.summary).toBe('after=\n');
  });

  it('a succeeded run: step gives only what it wrote to GITHUB_OUTPUT: another name fails the job', async () => {
    const result = await run(`
on: workflow_dispatch
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: changes
        run: echo "relevant=true" >> "$GITHUB_OUTPUT"
      - if: steps.changes.outputs.relevent == 'true'
        run: echo never
`);
    expect(result.jobs[0]!.conclusion).toBe('failure');
    expect(result.jobs[0]!.message).toMatch(
      /steps\.changes\.outputs\.relevent is not declared \(declared: relevant\)/,
    );
  });
});

describe("a local action's workflow commands", () => {
  it("go to the same annotations and summary as a run: step's (./actions/plan on a bad device)", async () => {
    const repo = makeRepo({ withSampleInventory: true });
    const device = readFileSync(join(PROJECT_ROOT, 'inventory/sfo1/web-sfo1-01.yaml'), 'utf8')
      .replace('system_name: web-sfo1-01', 'system_name: web-sfo1-09')
      .replace('common_name: status.example.com', 'common_name: bad_name..example.com');
    const files: Record<string, string> = {};
    for (const file of execFileSync('find', ['.', '-type', 'f'], { cwd: repo.root, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean))
      files[file.slice(2)] = readFileSync(join(repo.root, file), 'utf8');
    repo.cleanup();
    files['inventory/sfo1/web-sfo1-09.yaml'] = device;
    const result = await run(
      `
on: workflow_dispatch
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - uses: ${CHECKOUT}
        with: { persist-credentials: false }
      - id: plan
        uses: ./actions/plan
        with: { now: '2026-12-20T06:00:00Z' }
      - run: echo "after the plan" >> "$GITHUB_STEP_SUMMARY"
`,
      originWith(files),
    );
    const job = result.jobs[0]!;
    expect(job.steps[1]!.conclusion, job.steps[1]!.message).toBe('success');
    expect(job.annotations).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        file: 'inventory/sfo1/web-sfo1-09.yaml',
        line: 4,
        step: './actions/plan',
      }),
    );
    expect(job.summary).toMatch(/^## Ottr plan[\s\S]*`web-sfo1-09`[\s\S]*after the plan\n$/);
  });
});

describe('the lab npm: npm ci without network', () => {
  function shim(dir: string, ...args: string[]) {
    const file = join(dir, 'npm-shim');
    writeFileSync(file, npmShimScript());
    return spawnSync('bash', [file, ...args], { cwd: dir, encoding: 'utf8' });
  }

  it("links the project's node_modules for its own lock file, byte for byte, and refuses the rest", () => {
    const same = mkdtempSync(join(tmpdir(), 'ottr-npm-'));
    copyFileSync(join(PROJECT_ROOT, 'package-lock.json'), join(same, 'package-lock.json'));
    const ok = shim(same, 'ci', '--no-audit', '--no-fund', '--ignore-scripts');
    expect(ok.status).toBe(0);
    expect(lstatSync(join(same, 'node_modules')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(same, 'node_modules'))).toBe(join(PROJECT_ROOT, 'node_modules'));

    const other = mkdtempSync(join(tmpdir(), 'ottr-npm-'));
    writeFileSync(
      join(other, 'package-lock.json'),
      `${readFileSync(join(PROJECT_ROOT, 'package-lock.json'))} `,
    );
    const off = shim(other, 'ci');
    expect(off.status).toBe(1);
    expect(off.stderr).toMatch(/not the lab project's package-lock.json byte for byte/);
    expect(shim(other, 'install', 'left-pad').stderr).toMatch(
      /runs `npm ci` only .*refused: npm install left-pad/,
    );
    expect(shim(same, 'ci', '--omit=dev').stderr).toMatch(
      /npm ci --omit=dev is not something the lab can honour/,
    );
    const none = mkdtempSync(join(tmpdir(), 'ottr-npm-'));
    expect(shim(none, 'ci').stderr).toMatch(/can only install with an existing package-lock.json/);
  });
});

describe('actions/setup-node stand-in', () => {
  it('reads the version spellings setup-node documents', () => {
    expect(requestedMajor('24')).toEqual({ major: 24, atLeast: false });
    expect(requestedMajor('20.x')).toEqual({ major: 20, atLeast: false });
    expect(requestedMajor('v18.19.1')).toEqual({ major: 18, atLeast: false });
    expect(requestedMajor('>=20')).toEqual({ major: 20, atLeast: true });
    expect(requestedMajor('lts/*')).toBe('any');
    expect(requestedMajor('banana')).toBeUndefined();
  });

  it("uses this machine's node (saying so when the major differs), checks the lock file, refuses unknown inputs", async () => {
    const major = process.versions.node.split('.')[0];
    const origin = originWith({ 'app/package-lock.json': '{}\n' });
    const result = await run(
      `
on: workflow_dispatch
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: ${CHECKOUT}
      - id: same
        uses: ${SETUP_NODE}
        with: { node-version: '${major}', cache: npm, cache-dependency-path: app/package-lock.json }
      - id: other
        uses: ${SETUP_NODE}
        with: { node-version: '${Number(major) + 4}' }
      - run: echo "node=$(node --version) \${{ steps.same.outputs.node-version }} \${{ steps.same.outputs.cache-hit }}"
      - uses: ${SETUP_NODE}
        with: { node-version: '${major}', cache: npm }
      - if: always()
        uses: ${SETUP_NODE}
        with: { node-versions: '${major}' }
`,
      origin,
    );
    const [, same, other, echo, noLock, unknown] = result.jobs[0]!.steps;
    expect(same!.warnings).toEqual([]);
    expect(other!.conclusion).toBe('success');
    expect(other!.warnings[0]).toMatch(
      new RegExp(
        `node-version ${Number(major) + 4}: the lab downloads no node and runs this machine's v${process.versions.node}`,
      ),
    );
    expect(echo!.log).toEqual([`node=v${process.versions.node} v${process.versions.node} false`]);
    expect(noLock!.message).toMatch(
      /^Dependencies lock file is not found in .*Supported file patterns: package-lock.json/,
    );
    expect(unknown!.message).toMatch(
      /Unexpected input\(s\) 'node-versions', valid inputs are \['always-auth', 'node-version'/,
    );
  });
});

describe('pull_request events and the checkout stand-in', () => {
  it('checks out refs/pull/<n>/merge (the merge GitHub makes), a sha by `ref:`, into `path:`', async () => {
    const origin = originWith({ 'README.md': 'hello\n', 'inventory/a.yaml': 'a: 1\n' });
    const work = mkdtempSync(join(tmpdir(), 'ottr-wr-work-'));
    git(work, 'clone', '--quiet', origin, 'w');
    git(join(work, 'w'), 'checkout', '--quiet', '-b', 'feature');
    writeFileSync(join(work, 'w', 'inventory/b.yaml'), 'b: 2\n');
    git(join(work, 'w'), 'add', '.');
    git(join(work, 'w'), 'commit', '--quiet', '-m', 'b');
    git(join(work, 'w'), 'push', '--quiet', 'origin', 'feature');
    const pr = openPullRequest({ origin, repository: 'acme/pki', number: 7, head: 'feature' });
    const payload = pr.event.payload as {
      number: number;
      pull_request: { base: { ref: string; sha: string }; head: { ref: string; sha: string } };
    };
    expect(payload.number).toBe(7);
    expect(payload.pull_request.base.ref).toBe('main');
    expect(payload.pull_request.head.ref).toBe('feature');
    expect(git(origin, 'rev-parse', 'refs/pull/7/merge^1').trim()).toBe(payload.pull_request.base.sha);
    expect(git(origin, 'rev-parse', 'refs/pull/7/merge^2').trim()).toBe(payload.pull_request.head.sha);
    const result = await runWorkflow(
      await loadWorkflow(
        'pr.yml',
        `
on: pull_request
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: ${CHECKOUT}
        with: { path: pr, fetch-depth: 0, persist-credentials: false }
      - uses: ${CHECKOUT}
        with: { path: base, ref: '\${{ github.event.pull_request.base.sha }}' }
      - working-directory: pr
        run: |
          echo "$GITHUB_REF $GITHUB_REF_NAME $GITHUB_BASE_REF $GITHUB_HEAD_REF $GITHUB_SHA"
          git diff --name-only "\${{ github.event.pull_request.base.sha }}"...HEAD
          git config --get-regexp extraheader || echo "no credentials"
      - working-directory: base
        run: |
          ls inventory
          git config --get-regexp extraheader | sed 's/basic .*/basic <token>/'
`,
      ),
      options(origin, { event: pr.event, ref: pr.ref }),
    );
    const [prCheckout, baseCheckout, inPr, inBase] = result.jobs[0]!.steps;
    expect(prCheckout!.outputs).toEqual({ ref: 'refs/pull/7/merge', commit: pr.sha });
    expect(baseCheckout!.outputs).toEqual({ ref: '', commit: payload.pull_request.base.sha });
    expect(inPr!.log).toEqual([
      `refs/pull/7/merge 7/merge main feature ${pr.sha}`,
      'inventory/b.yaml',
      'no credentials',
    ]);
    expect(inBase!.log).toEqual([
      'a.yaml',
      'http.http://127.0.0.1:1/.extraheader AUTHORIZATION: basic <token>',
    ]);
    expect(result.conclusion).toBe('success');
  });

  it('a head that does not merge cleanly gets no merge ref', () => {
    const origin = originWith({ 'a.txt': 'one\n' });
    const work = mkdtempSync(join(tmpdir(), 'ottr-wr-work-'));
    git(work, 'clone', '--quiet', origin, 'w');
    const w = join(work, 'w');
    git(w, 'checkout', '--quiet', '-b', 'conflict');
    writeFileSync(join(w, 'a.txt'), 'two\n');
    git(w, 'commit', '--quiet', '-am', 'two');
    git(w, 'push', '--quiet', 'origin', 'conflict');
    git(w, 'checkout', '--quiet', 'main');
    writeFileSync(join(w, 'a.txt'), 'three\n');
    git(w, 'commit', '--quiet', '-am', 'three');
    git(w, 'push', '--quiet', 'origin', 'main');
    expect(() => openPullRequest({ origin, repository: 'acme/pki', number: 8, head: 'conflict' })).toThrow(
      /conflict does not merge cleanly into main/,
    );
    expect(() =>
      execFileSync('git', ['--git-dir', origin, 'rev-parse', '--verify', '--quiet', 'refs/pull/8/merge']),
    ).toThrow();
  });
});
