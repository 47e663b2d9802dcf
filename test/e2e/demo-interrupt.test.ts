import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/cli.ts';

/** Every process descended from `root` (from /proc: each process's parent is field 4 of its stat line). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents)
      if (parent === pid) {
        found.push(child);
        walk(child);
      }
  };
  walk(root);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run demo on Ctrl-C', () => {
  it('stops every process it started and removes the lab, exit 130', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/lab/demo.ts')], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const labDir = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        output += c.toString();
        const ready = /lab ready: .* origin (\/\S+)\/origin\.git/.exec(output);
        // Interrupt mid-run: once the rotate jobs have started.
        if (ready && /precheck/.test(output)) resolve(ready[1]!);
      });
      child.on('exit', () => reject(new Error(`the demo ended before it could be interrupted:\n${output}`)));
    });
    const started = descendants(child.pid!);
    expect(started.length).toBeGreaterThan(3); // pebble, sshd, nginx, the rotate jobs… are running
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    // A short-lived helper (a git clone, say) may take a moment to finish; servers would stay for good.
    const describe = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        return undefined;
      }
    };
    let survivors = started.filter(alive);
    for (let waited = 0; survivors.length > 0 && waited < 3000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      survivors = survivors.filter(alive);
    }
    expect(survivors.map(describe).filter(Boolean)).toEqual([]);
    expect(existsSync(labDir)).toBe(false);
  }, 120_000);
});
