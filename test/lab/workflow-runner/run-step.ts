import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import {
  asString,
  type Contexts,
  evaluate,
  evaluateToken,
  fromData,
  type JobStatus,
  WorkflowError,
} from './expressions.ts';
import { installNpmShim } from './npm-shim.ts';
import type { WorkflowStep } from './workflow.ts';
import {
  type Annotation,
  parseEnvironmentFile,
  parsePathFile,
  type WorkflowCommands,
} from './workflow-commands.ts';

/**
 * The command line of a `shell:` on Linux (docs.github.com/en/actions/reference/workflows-and-actions/
 * workflow-syntax#jobsjob_idstepsshell): none given `bash -e {0}`, `bash` `bash --noprofile --norc -eo pipefail
 * {0}`, `sh` `sh -e {0}`, or a custom command with `{0}` where the script file goes. The runner writes the script
 * to a `.sh` file in RUNNER_TEMP. pwsh, python, cmd and powershell are not on the lab's runners.
 */
export function shellCommand(shell: string | undefined, script: string): string[] {
  const template =
    shell === undefined || shell === ''
      ? 'bash -e {0}'
      : shell === 'bash'
        ? 'bash --noprofile --norc -eo pipefail {0}'
        : shell === 'sh'
          ? 'sh -e {0}'
          : shell;
  if (['pwsh', 'python', 'cmd', 'powershell'].includes(template))
    throw new WorkflowError(`shell: ${template} is not installed on the lab's runners (bash and sh are)`);
  if (!template.includes('{0}'))
    throw new WorkflowError(`shell: '${shell}': a custom shell must contain {0}, where the script file goes`);
  return template
    .split(/\s+/)
    .filter(Boolean)
    .map((part) => part.replace('{0}', script));
}

/**
 * A text's `${{ }}` evaluated in place, as the runner evaluates a `run:` script before writing it: each expression
 * ends at the first `}}` outside a '…' string literal (the rule @actions/workflow-parser's template reader uses).
 * Each is evaluated with @actions/expressions and put in as a string. The script is the YAML value, not the
 * parser's `format(…)` of a block scalar's source, which keeps the block's indentation.
 */
export function evaluateEmbedded(text: string, contexts: Contexts, status: JobStatus, where: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const start = text.indexOf('${{', at);
    if (start < 0) return out + text.slice(at);
    let end = -1;
    let inString = false;
    for (let i = start + 3; i < text.length; i++) {
      if (text[i] === "'") inString = !inString;
      else if (!inString && text[i] === '}' && text[i - 1] === '}') {
        end = i;
        break;
      }
    }
    if (end < 0)
      throw new WorkflowError(
        `${where}: The expression is not closed. An unescaped \${{ sequence was found, but the closing }} sequence was not found.`,
      );
    const expression = text.slice(start + 3, end - 1).trim();
    out += text.slice(at, start) + asString(fromData(evaluate(expression, contexts, status)), where);
    at = end + 1;
  }
}

/** A step's `shell:` and `working-directory:`, else `defaults.run` of the job, else of the workflow. */
function runSettings(step: WorkflowStep, contexts: Contexts, status: JobStatus) {
  const value = (token: WorkflowStep['shell'], where: string) =>
    token ? asString(evaluateToken(token, contexts, status), where) : undefined;
  let shell = value(step.shell, `${step.id}.shell`);
  let workingDirectory = value(step.workingDirectory, `${step.id}.working-directory`);
  for (const token of [...(step.defaultsRun ?? [])].reverse()) {
    const defaults = (evaluateToken(token, contexts, status) ?? {}) as Record<string, unknown>;
    shell ??= defaults.shell === undefined ? undefined : asString(defaults.shell, 'defaults.run.shell');
    workingDirectory ??=
      defaults['working-directory'] === undefined
        ? undefined
        : asString(defaults['working-directory'], 'defaults.run.working-directory');
  }
  return { shell, workingDirectory };
}

export interface ScriptRun {
  code: number;
  /** The log as GitHub shows it: masked, with the commands it hides taken out. */
  log: string[];
  annotations: Annotation[];
  outputs: Record<string, string>;
  summary: string;
  /** What the step wrote to GITHUB_ENV and GITHUB_PATH, for the job's later steps. */
  exportEnv: Record<string, string>;
  addPath: string[];
}

export interface ScriptContext {
  step: WorkflowStep;
  /** The step's display name (for annotations and the log). */
  label: string;
  contexts: Contexts;
  status: JobStatus;
  workspace: string;
  /** The process environment: the job's variables, the step's `env:`, the default variables. */
  env: Record<string, string>;
  commands: WorkflowCommands;
  onLine?: ((line: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Runs a `run:` step as the runner does on Linux: `${{ }}` in the script evaluated first, the script written to
 * RUNNER_TEMP, the shell's command line in `working-directory` (relative to GITHUB_WORKSPACE; a missing one fails
 * the step before it starts), fresh GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY files, stdout
 * and stderr read line by line for workflow commands. The lab's npm comes first on PATH.
 */
export async function runScript(at: ScriptContext): Promise<ScriptRun> {
  const { step, contexts, status, workspace, env } = at;
  const script =
    step.script === undefined
      ? asString(evaluateToken(step.run!, contexts, status), `${step.id}.run`)
      : evaluateEmbedded(step.script, contexts, status, `${step.id}.run`);
  const { shell, workingDirectory } = runSettings(step, contexts, status);
  const temp = env.RUNNER_TEMP!;
  const files = fileCommandFiles(join(temp, '_runner_file_commands'));
  const scriptFile = join(temp, `${randomUUID()}.sh`);
  writeFileSync(scriptFile, script);
  const [command, ...args] = shellCommand(shell, scriptFile);
  const cwd = resolve(workspace, workingDirectory ?? '');
  if (!existsSync(cwd) || !statSync(cwd).isDirectory())
    throw new WorkflowError(
      `An error occurred trying to start process '${command}' with working directory '${cwd}'. No such file or directory`,
    );
  const path = [installNpmShim(join(temp, '_lab_bin')), env.PATH ?? process.env.PATH ?? ''].join(delimiter);
  const processEnv = {
    ...env,
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    PATH: path,
  };
  const log: string[] = [];
  const before = at.commands.annotations.length;
  const code = await spawnShell(command!, args, { cwd, env: processEnv, signal: at.signal }, (raw) => {
    const line = at.commands.line(raw, at.label);
    if (line === undefined) return;
    log.push(line);
    at.onLine?.(line);
  });
  return {
    code,
    log,
    annotations: at.commands.annotations.slice(before),
    outputs: parseEnvironmentFile(readFileSync(files.output, 'utf8'), 'output'),
    exportEnv: parseEnvironmentFile(readFileSync(files.env, 'utf8'), 'env'),
    addPath: parsePathFile(readFileSync(files.path, 'utf8')),
    summary: at.commands.mask(readFileSync(files.summary, 'utf8')),
  };
}

/** One set of file-command files per step, empty, in RUNNER_TEMP/_runner_file_commands (as the runner makes them). */
function fileCommandFiles(dir: string) {
  mkdirSync(dir, { recursive: true });
  const id = randomUUID();
  const files = {
    output: join(dir, `set_output_${id}`),
    env: join(dir, `set_env_${id}`),
    path: join(dir, `add_path_${id}`),
    summary: join(dir, `step_summary_${id}`),
    state: join(dir, `save_state_${id}`),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  return files;
}

function spawnShell(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; signal?: AbortSignal | undefined },
  onLine: (line: string) => void,
): Promise<number> {
  return new Promise((resolveCode, reject) => {
    const { signal, ...spawnOptions } = options;
    // Its own process group, so that a timed-out job's kill reaches the script's children too (a `sleep` holding
    // the output pipe open would otherwise keep the step alive); the exit code is then 143 (SIGTERM).
    const child = spawn(command, args, {
      ...spawnOptions,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    if (signal?.aborted) kill();
    signal?.addEventListener('abort', kill, { once: true });
    child.on('exit', () => signal?.removeEventListener('abort', kill));
    const reader = () => {
      let pending = '';
      return {
        data: (chunk: Buffer) => {
          const lines = (pending + chunk.toString()).split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) onLine(line.replace(/\r$/, ''));
        },
        end: () => {
          if (pending) onLine(pending);
          pending = '';
        },
      };
    };
    const out = reader();
    const err = reader();
    child.stdout.on('data', out.data);
    child.stderr.on('data', err.data);
    child.on('error', (error) =>
      reject(new WorkflowError(`An error occurred trying to start process '${command}': ${error.message}`)),
    );
    child.on('close', (code, killedBy) => {
      out.end();
      err.end();
      resolveCode(code ?? (killedBy === 'SIGTERM' ? 143 : 1));
    });
  });
}
