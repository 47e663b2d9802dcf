import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnLabProcess, stopLabProcess } from '../processes.ts';
import { writeSelfSigned } from '../self-signed.ts';

export const PEBBLE_BINARY = '/usr/bin/pebble';

export interface Pebble {
  directoryUrl: string;
  managementUrl: string;
  /** Trust anchor for Pebble's own HTTPS (the certificate the lab made for it). */
  httpsCaPem: string;
  /** Pebble's HTTPS certificate and key (for a proxy that stands in front of it on loopback). */
  tls: { cert: string; key: string };
  agent: Agent;
  /** The root(s) Pebble issues under, from its management port. */
  rootsPem(): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** `127.0.0.1:PORT` of the DNS server Pebble's validation asks. */
  dnsServer: string;
  certificateValidityPeriod?: number;
  env?: Record<string, string>;
  /** Require external account binding with these key ids → base64url HMAC keys. */
  eab?: Record<string, string>;
}

function fetchText(url: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Runs Debian's Pebble on loopback with a fresh HTTPS certificate and config; stop() ends it. */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-pebble-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  writeSelfSigned(['localhost', '127.0.0.1'], key, cert, 2);
  const [listen, management, httpPort, tlsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${listen}`,
      managementListenAddress: `127.0.0.1:${management}`,
      certificate: cert,
      privateKey: key,
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: options.eab !== undefined,
      ...(options.eab ? { externalAccountMACKeys: options.eab } : {}),
      ...(options.certificateValidityPeriod
        ? { certificateValidityPeriod: options.certificateValidityPeriod }
        : {}),
    },
  };
  const configFile = join(dir, 'pebble-config.json');
  writeFileSync(configFile, JSON.stringify(config));
  let output = '';
  const child = spawnLabProcess(PEBBLE_BINARY, ['-config', configFile, '-dnsserver', options.dnsServer], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  });
  child.stderr?.on('data', (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  });
  const httpsCaPem = readFileSync(cert, 'utf8');
  const agent = new Agent({ ca: httpsCaPem, keepAlive: true });
  const directoryUrl = `https://127.0.0.1:${listen}/dir`;
  const managementUrl = `https://127.0.0.1:${management}`;
  const stop = async () => {
    agent.destroy();
    await stopLabProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`pebble exited with ${child.exitCode}:\n${output.slice(-2000)}`);
    }
    const ok = await fetchText(directoryUrl, agent).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pebble did not answer at ${directoryUrl} within 15 s:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  return {
    directoryUrl,
    managementUrl,
    httpsCaPem,
    tls: { cert: httpsCaPem, key: readFileSync(key, 'utf8') },
    agent,
    async rootsPem() {
      const root = await fetchText(`${managementUrl}/roots/0`, agent);
      if (root.status !== 200) throw new Error(`pebble /roots/0 answered ${root.status}`);
      return root.body;
    },
    output: () => output,
    stop,
  };
}
