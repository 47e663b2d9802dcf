import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { optionsOf } from '../../src/cli/args.ts';
import { commands } from '../../src/cli/commands/index.ts';
import { subcommandsIn } from '../../src/cli/help-table.ts';
import { PROJECT_ROOT, runCli } from '../helpers/cli.ts';

function installed(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What bash's completion offers for the words typed so far (the last one being completed). */
function bashComplete(words: string[]): string[] {
  const script = `source <(node bin/ottr.js completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_ottr; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const run = spawnSync('bash', ['-c', script], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split('\n').filter(Boolean);
}

describe('ottr completion', () => {
  it.runIf(installed('bash'))('bash can source the script, and it registers ottr', () => {
    const run = spawnSync('bash', ['-c', 'source <(node bin/ottr.js completion bash); complete -p ottr'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^complete .*-F _ottr ottr$/m);
  });

  it.runIf(installed('bash'))('bash completes commands, sub-commands and flags', () => {
    expect(bashComplete(['ottr', 'val'])).toEqual(['validate']);
    expect(bashComplete(['ottr', 'sync', ''])).toEqual(
      expect.arrayContaining(['aws-ssm', 'file', '--region']),
    );
    expect(bashComplete(['ottr', 'rotate', '--dry'])).toEqual(['--dry-run']);
    expect(bashComplete(['ottr', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    // After a flag that takes a value, bash's own file completion takes over.
    expect(bashComplete(['ottr', 'validate', '--root', ''])).toEqual([]);
  });

  it.runIf(installed('zsh') || Boolean(process.env.CI))('zsh can load the script', () => {
    const run = spawnSync(
      'zsh',
      ['-c', 'autoload -Uz compinit && compinit -u && source <(node bin/ottr.js completion zsh) && print ok'],
      { cwd: PROJECT_ROOT, encoding: 'utf8' },
    );
    expect(run.stdout.trim()).toBe('ok');
  });

  it.runIf(installed('fish') || Boolean(process.env.CI))('fish can load the script', () => {
    const run = spawnSync(
      'fish',
      ['-c', 'node bin/ottr.js completion fish | source; and complete -c ottr | head -1'],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('complete');
  });

  it('every script lists every command and, for each, every flag it declares', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const run = await runCli(['completion', shell]);
      expect(run.code, shell).toBe(0);
      for (const entry of commands) {
        expect(run.stdout, `${shell}: ${entry.name}`).toContain(entry.name);
        for (const option of await optionsOf(await entry.load())) {
          const written = shell === 'fish' ? `-l ${option.name}` : `--${option.name}`;
          expect(run.stdout, `${shell}: ${entry.name} --${option.name}`).toContain(written);
        }
      }
    }
  });

  it('finds sub-commands in the Usage lines', () => {
    const help = 'Usage: ottr sync aws-ssm [--region R]\n       ottr sync file FILE\n\nottr sync: more';
    expect(subcommandsIn('sync', help)).toEqual(['aws-ssm', 'file']);
    expect(subcommandsIn('show', 'Usage: ottr show <system_name> [--root DIR]')).toEqual([]);
  });

  it('an unknown or missing shell is a usage error that lists the shells', async () => {
    const unknown = await runCli(['completion', 'powershell']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no completion for "powershell"; the shells are bash, zsh, fish');
    const missing = await runCli(['completion']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('say which shell');
  });
});
