import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnLabProcess, stopLabProcess } from '../processes.ts';

export const TINYPROXY_BINARY = '/usr/bin/tinyproxy';

export interface LabProxy {
  /** `http://127.0.0.1:PORT`, with `user:password@` when the proxy requires Basic authentication. */
  url: string;
  port: number;
  /** The `host:port` of every CONNECT tunnel the proxy was asked for since start (or the last clear()). */
  tunnels(): string[];
  /** The absolute-form requests (`GET http://…`) it forwarded. */
  forwarded(): string[];
  /** Requests it refused for want of credentials (HTTP 407). */
  refused(): number;
  clear(): void;
  stop(): Promise<void>;
}

/**
 * Debian's tinyproxy on loopback, from a config written here, in the foreground (`-d`) so its log comes on
 * standard output: at `LogLevel Connect` one `Request (file descriptor N): CONNECT host:port HTTP/1.1` line per
 * request. With `auth`, `BasicAuth user password` makes it answer 407 to a request without Proxy-Authorization.
 * No `ConnectPort` line: tinyproxy then allows CONNECT to every port (the lab's servers use random ones).
 */
export async function startTinyproxy(
  options: { auth?: { user: string; password: string } } = {},
): Promise<LabProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-tinyproxy-'));
  const port = await freePort();
  const config = [
    'Listen 127.0.0.1',
    `Port ${port}`,
    'Timeout 30',
    'LogLevel Connect',
    'MaxClients 64',
    'Allow 127.0.0.1',
    'DisableViaHeader Yes',
    ...(options.auth ? [`BasicAuth ${options.auth.user} ${options.auth.password}`] : []),
  ];
  writeFileSync(join(dir, 'tinyproxy.conf'), `${config.join('\n')}\n`);
  const child: ChildProcess = spawnLabProcess(TINYPROXY_BINARY, ['-d', '-c', join(dir, 'tinyproxy.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => {
    log += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    log += c.toString();
  });
  await waitForPort(port, child, () => log);
  let mark = log.length;
  const requests = () =>
    [...log.slice(mark).matchAll(/Request \(file descriptor \d+\): (\S+) (\S+) HTTP\/1\.[01]/g)].map(
      (m) => [m[1]!, m[2]!] as const,
    );
  const auth = options.auth
    ? `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.password)}@`
    : '';
  return {
    url: `http://${auth}127.0.0.1:${port}`,
    port,
    tunnels: () =>
      requests()
        .filter(([method]) => method === 'CONNECT')
        .map(([, target]) => target),
    forwarded: () =>
      requests()
        .filter(([method]) => method !== 'CONNECT')
        .map(([m, t]) => `${m} ${t}`),
    refused: () => (log.slice(mark).match(/407|[Aa]uthentication|[Uu]nauthori[sz]ed/g) ?? []).length,
    clear() {
      mark = log.length;
    },
    async stop() {
      await stopLabProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tinyproxy exited (${child.exitCode}):\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`tinyproxy did not listen on 127.0.0.1:${port} within 10 s:\n${log()}`);
}
