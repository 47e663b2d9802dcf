import { describe, expect, it } from 'vitest';
import { optionsOf, parseFlags } from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/command.ts';
import { commands } from '../../src/cli/commands/index.ts';
import { runCli } from '../helpers/cli.ts';

describe('did you mean', () => {
  it.each([
    ['valdiate', 'validate'],
    ['paln', 'plan'],
    ['rotat', 'rotate'],
    ['dns-record', 'dns-records'],
    ['verison', 'version'],
    ['completoin', 'completion'],
  ])('unknown command %s suggests %s', async (typed, meant) => {
    const run = await runCli([typed]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`unknown command "${typed}"; did you mean "${meant}"?`);
    expect(run.stdout).toBe('');
  });

  it('suggests nothing for a word that is not close to any command', async () => {
    const run = await runCli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "frobnicate"\n');
    expect(run.stderr).not.toContain('did you mean');
  });

  it.each([
    [['rotate', '--dryrun'], '--dry-run'],
    [['validate', '--fromat', 'json'], '--format'],
    [['plan', '--device', 'x'], '--devices'],
    [['status', '--roo', '.'], '--root'],
  ])('unknown option in %j suggests %s', async (args, meant) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Unknown option '${args[1]}'; did you mean "${meant}"?`);
    expect(run.stderr).toContain(`Run "ottr ${args[0]} --help" for usage.`);
  });

  it('keeps the plain message for an option nothing resembles, and for other parse errors', () => {
    const options = { root: { type: 'string' as const } };
    expect(() => parseFlags(['--zzzzzzzz'], options)).toThrow(/^Unknown option '--zzzzzzzz'\.?$/);
    expect(() => parseFlags(['--root'], options)).toThrow(UsageError);
    expect(() => parseFlags(['--root'], options)).toThrow(/argument missing/);
  });
});

describe('-o is short for --format', () => {
  it('gives the same output as --format', async () => {
    const long = await runCli(['validate', '--format', 'json']);
    const short = await runCli(['validate', '-o', 'json']);
    expect(short.code).toBe(long.code);
    expect(JSON.parse(short.stdout)).toEqual(JSON.parse(long.stdout));
    expect((await runCli(['validate', '-ojson'])).stdout).toBe(short.stdout);
  });

  it('every command with --format takes -o, and no other command does', async () => {
    let withFormat = 0;
    for (const entry of commands) {
      const options = await optionsOf(await entry.load());
      const format = options.find((o) => o.name === 'format');
      if (format) withFormat++;
      expect(format?.short, entry.name).toBe(format ? 'o' : undefined);
      expect(options.filter((o) => o.short === 'o').length, entry.name).toBe(format ? 1 : 0);
    }
    expect(withFormat).toBeGreaterThanOrEqual(6);
  });

  it('checks the -o value like --format', async () => {
    const run = await runCli(['validate', '-o', 'yaml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--format must be one of text, json, github (got "yaml")');
  });
});
