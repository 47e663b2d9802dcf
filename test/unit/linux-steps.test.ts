import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyPolicy } from '../../src/model/types.ts';
import type { CsrRequest } from '../../src/platforms/contract.ts';
import { LINUX_DEFAULTS, type LinuxOptions } from '../../src/platforms/shared/linux-options.ts';
import { linuxSession, type RunStep } from '../../src/platforms/shared/linux-steps.ts';

/**
 * The Linux driver's shell steps, run for real by /bin/sh with the real openssl, in a temporary folder standing in
 * for the host's /etc/ssl: what each step leaves on disk is what a host would have. The SSH and SSM transports that
 * carry these scripts are covered against real sshd (linux-ssh.test.ts) and the SSM emulator.
 */

let dir: string;
let log: string;
let options: LinuxOptions;
const OLD_CERT = 'old certificate\n';
const OLD_KEY = 'old key\n';
const CHAIN =
  "-----BEGIN CERTIFICATE-----\nnew chain with a ' quote and $(not run)\n-----END CERTIFICATE-----\n";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ottr-linux-steps-'));
  log = join(dir, 'log');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'fullchain.pem'), OLD_CERT);
  writeFileSync(join(dir, 'privkey.pem'), OLD_KEY);
  options = {
    certificate_path: join(dir, 'fullchain.pem'),
    key_path: join(dir, 'privkey.pem'),
    reload_command: `echo reload >> '${log}'`,
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const events = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
const read = (name: string) => readFileSync(join(dir, name), 'utf8');
const mode = (name: string) => statSync(join(dir, name)).mode & 0o777;

function session(opts: { stdin?: boolean; sudo?: boolean; output?: string } = {}) {
  const env = { ...process.env };
  if (opts.sudo) {
    // A stand-in sudo that insists on -n (never prompt) and records what it was asked to run.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'sudo'),
      `#!/bin/sh\n[ "$1" = -n ] || exit 97\nshift\necho "sudo $1" >> '${log}'\nexec "$@"\n`,
    );
    chmodSync(join(bin, 'sudo'), 0o755);
    env.PATH = `${bin}:${env.PATH}`;
  }
  const scripts: { step: string; script: string; stdin?: string }[] = [];
  const run: RunStep = async (step, script, stdin) => {
    scripts.push({ step, script, ...(stdin !== undefined ? { stdin } : {}) });
    const r = spawnSync('/bin/sh', ['-c', script], { input: stdin ?? '', env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${step} failed with exit ${r.status}: ${r.stderr.trim()}`);
    return opts.output ?? r.stdout;
  };
  let closed = 0;
  const endpoint = { host: '127.0.0.1', port: 8443, servername: 'web1.example.com' };
  const s = linuxSession(options, opts.sudo ?? false, {
    run,
    stdin: opts.stdin ?? true,
    endpoint,
    close: async () => {
      closed++;
    },
  });
  return { s, scripts, endpoint, closed: () => closed };
}

const request = (key: KeyPolicy = { type: 'ecdsa', curve: 'P-384' }): CsrRequest => ({
  names: ['web1.example.com', 'www.web1.example.com'],
  key,
  rotationId: 'ottr-1',
});

async function csrOf(pem: string) {
  const csr = new x509.Pkcs10CertificateRequest(pem);
  const san = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension;
  return {
    subject: csr.subject,
    names: san.names.items.map((n) => `${n.type}:${n.value}`),
    algorithm: csr.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number },
    verifies: await csr.verify(),
  };
}

describe('linux steps on a real shell and openssl', () => {
  it('precheck passes on a host with openssl and readable certificate and key', async () => {
    await expect(session().s.precheck()).resolves.toBeUndefined();
  });

  it.each(['fullchain.pem', 'privkey.pem'])('precheck fails when %s is not there', async (missing) => {
    rmSync(join(dir, missing));
    await expect(session().s.precheck()).rejects.toThrow(/^precheck failed with exit 1/);
  });

  it('the key is made on the host, readable by its owner only, and the CSR asks for exactly the names', async () => {
    const { s } = session();
    const pem = await s.generateCsr(request());
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----$/);
    const csr = await csrOf(pem);
    expect(csr.subject).toBe('CN=web1.example.com');
    expect(csr.names).toEqual(['dns:web1.example.com', 'dns:www.web1.example.com']);
    expect(csr.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-384' });
    expect(csr.verifies).toBe(true);
    expect(read('privkey.pem.ottr-1.new')).toMatch(/BEGIN PRIVATE KEY/);
    expect(mode('privkey.pem.ottr-1.new')).toBe(0o600);
    expect(read('privkey.pem')).toBe(OLD_KEY);
  });

  it.each([
    [{ type: 'rsa', size: 3072 } as KeyPolicy, { name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072 }],
    [{ type: 'rsa' } as KeyPolicy, { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 }],
    [{ type: 'ecdsa' } as KeyPolicy, { name: 'ECDSA', namedCurve: 'P-256' }],
  ])('key policy %j makes a %j key', async (key, expected) => {
    const csr = await csrOf(await session().s.generateCsr(request(key)));
    expect(csr.algorithm).toMatchObject(expected);
  });

  it('finds the CSR among whatever else the host printed, and refuses output without one', async () => {
    const noisy = session({
      output: 'motd\n-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\nbye\n',
    });
    expect(await noisy.s.generateCsr(request())).toBe(
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
    );
    await expect(
      session({ output: 'openssl: command not found\n' }).s.generateCsr(request()),
    ).rejects.toThrow('the host printed no CSR');
  });

  it.each([
    ['on stdin (SSH)', true],
    ['inside the command, base64-encoded (SSM)', false],
  ])('install writes the chain byte-exact beside the live one, world-readable, %s', async (_how, stdin) => {
    const { s, scripts } = session({ stdin });
    const receipt = await s.install(CHAIN, request());
    expect(receipt).toEqual({ request: request() });
    expect(read('fullchain.pem.ottr-1.new')).toBe(CHAIN);
    expect(mode('fullchain.pem.ottr-1.new')).toBe(0o644);
    expect(read('fullchain.pem')).toBe(OLD_CERT);
    expect(scripts[0]!.stdin).toBe(stdin ? CHAIN : undefined);
    if (!stdin) expect(scripts[0]!.script).not.toContain('new chain');
  });

  it('activate keeps the previous pair, puts the new one live and reloads; rollback restores it and reloads', async () => {
    const { s } = session();
    await s.generateCsr(request());
    const newKey = read('privkey.pem.ottr-1.new');
    const receipt = await s.install(CHAIN, request());
    await s.activate(receipt);
    expect(read('fullchain.pem')).toBe(CHAIN);
    expect(read('privkey.pem')).toBe(newKey);
    expect(mode('privkey.pem')).toBe(0o600);
    expect(read('fullchain.pem.ottr-1.prev')).toBe(OLD_CERT);
    expect(read('privkey.pem.ottr-1.prev')).toBe(OLD_KEY);
    expect(existsSync(join(dir, 'privkey.pem.ottr-1.new'))).toBe(false);
    expect(existsSync(join(dir, 'fullchain.pem.ottr-1.new'))).toBe(false);
    expect(events()).toEqual(['reload']);

    await s.rollback(receipt);
    expect(read('fullchain.pem')).toBe(OLD_CERT);
    expect(read('privkey.pem')).toBe(OLD_KEY);
    expect(events()).toEqual(['reload', 'reload']);
  });

  it('cleanup after a good rotation removes the previous pair and nothing else', async () => {
    const { s } = session();
    await s.generateCsr(request());
    const receipt = await s.install(CHAIN, request());
    await s.activate(receipt);
    await s.cleanup(receipt);
    expect(existsSync(join(dir, 'fullchain.pem.ottr-1.prev'))).toBe(false);
    expect(existsSync(join(dir, 'privkey.pem.ottr-1.prev'))).toBe(false);
    expect(read('fullchain.pem')).toBe(CHAIN);
  });

  it('discard drops the unused new key and chain, leaving the live pair', async () => {
    const { s } = session();
    await s.generateCsr(request());
    await s.install(CHAIN, request());
    await s.discard(request());
    expect(existsSync(join(dir, 'privkey.pem.ottr-1.new'))).toBe(false);
    expect(existsSync(join(dir, 'fullchain.pem.ottr-1.new'))).toBe(false);
    expect(read('fullchain.pem')).toBe(OLD_CERT);
    expect(read('privkey.pem')).toBe(OLD_KEY);
  });

  it('a rollback after an activation that never saved the previous pair leaves the live files and reloads', async () => {
    const { s } = session();
    await s.rollback({ request: request() });
    expect(read('fullchain.pem')).toBe(OLD_CERT);
    expect(events()).toEqual(['reload']);
  });

  it('a failing reload fails activation, named by its step', async () => {
    options.reload_command = 'exit 3';
    const { s } = session();
    await s.generateCsr(request());
    await expect(s.activate(await s.install(CHAIN, request()))).rejects.toThrow(
      /^activate failed with exit 3/,
    );
  });
});

describe('hooks around activation', () => {
  function hook(kind: 'pre' | 'post', name: string, body: string, executable = true) {
    mkdirSync(join(dir, 'hooks', kind), { recursive: true });
    writeFileSync(join(dir, 'hooks', kind, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, 'hooks', kind, name), executable ? 0o755 : 0o644);
  }

  it('pre hooks run before the switch and post hooks after the reload; a hook that is not executable is skipped', async () => {
    options.hooks_dir = join(dir, 'hooks');
    hook('pre', '10-drain.sh', `echo "pre $(cat '${options.certificate_path}')" >> '${log}'`);
    hook('pre', '20-off.sh', `echo never >> '${log}'`, false);
    hook('post', '10-undrain.sh', `echo "post $(head -1 '${options.certificate_path}')" >> '${log}'`);
    const { s } = session();
    await s.generateCsr(request());
    await s.activate(await s.install(CHAIN, request()));
    expect(events()).toEqual(['pre old certificate', 'reload', 'post -----BEGIN CERTIFICATE-----']);
  });

  it('a failing pre hook stops activation before anything is switched', async () => {
    options.hooks_dir = join(dir, 'hooks');
    hook('pre', '10-refuse.sh', 'exit 1');
    const { s } = session();
    await s.generateCsr(request());
    await expect(s.activate(await s.install(CHAIN, request()))).rejects.toThrow(/^activate failed/);
    expect(read('fullchain.pem')).toBe(OLD_CERT);
    expect(events()).toEqual([]);
  });

  it('a failing post hook fails activation (so the pipeline rolls back)', async () => {
    options.hooks_dir = join(dir, 'hooks');
    hook('post', '10-refuse.sh', 'exit 1');
    const { s } = session();
    await s.generateCsr(request());
    await expect(s.activate(await s.install(CHAIN, request()))).rejects.toThrow(/^activate failed/);
    expect(events()).toEqual(['reload']);
  });
});

describe('with sudo', () => {
  it('every command that touches the certificate, the key or the service runs through sudo -n', async () => {
    options.hooks_dir = join(dir, 'hooks');
    mkdirSync(join(dir, 'hooks', 'pre'), { recursive: true });
    writeFileSync(join(dir, 'hooks', 'pre', 'a.sh'), '#!/bin/sh\ntrue\n');
    chmodSync(join(dir, 'hooks', 'pre', 'a.sh'), 0o755);
    const { s } = session({ sudo: true });
    await s.precheck();
    expect(events()).toEqual(['sudo test', 'sudo test']);
    await s.generateCsr(request());
    expect(events().slice(2)).toEqual(['sudo openssl', 'sudo chmod', 'sudo openssl']);
    const receipt = await s.install(CHAIN, request());
    expect(events().slice(5)).toEqual(['sudo tee']);
    await s.activate(receipt);
    expect(events().slice(6)).toEqual([
      `sudo ${join(dir, 'hooks', 'pre', 'a.sh')}`,
      'sudo cp',
      'sudo cp',
      'sudo mv',
      'sudo mv',
      'sudo sh',
      'reload',
    ]);
    await s.rollback(receipt);
    expect(events().slice(13)).toEqual(['sudo test', 'sudo cp', 'sudo cp', 'sudo sh', 'reload']);
    await s.cleanup(receipt);
    await s.discard(request());
    expect(events().slice(18)).toEqual(['sudo rm', 'sudo rm']);
  });

  it('the SSM form of install goes through sudo too', async () => {
    const { s } = session({ sudo: true, stdin: false });
    await s.install(CHAIN, request());
    expect(events()).toEqual(['sudo tee']);
    expect(read('fullchain.pem.ottr-1.new')).toBe(CHAIN);
  });
});

describe('the session', () => {
  it('answers on the transport’s TLS endpoint and closes the transport', async () => {
    const { s, endpoint, closed } = session();
    expect(s.tlsEndpoint()).toBe(endpoint);
    await s.close();
    expect(closed()).toBe(1);
  });

  it('precheck asks about the live files only, whatever a rotation would be called', async () => {
    const { s, scripts } = session();
    await s.precheck();
    expect(scripts).toEqual([
      {
        step: 'precheck',
        script: `command -v openssl >/dev/null && test -r '${options.certificate_path}' && test -r '${options.key_path}'`,
      },
    ]);
  });
});

describe('steps are named in errors and logs', () => {
  it('each step runs under its own name', async () => {
    const { s, scripts } = session();
    await s.precheck();
    await s.generateCsr(request());
    const receipt = await s.install(CHAIN, request());
    await s.activate(receipt);
    await s.rollback(receipt);
    await s.cleanup(receipt);
    await s.discard(request());
    expect(scripts.map((x) => x.step)).toEqual([
      'precheck',
      'key and CSR generation',
      'install',
      'activate',
      'rollback',
      'cleanup',
      'discard',
    ]);
    const encoded = session({ stdin: false });
    await encoded.s.install(CHAIN, request());
    expect(encoded.scripts.map((x) => x.step)).toEqual(['install']);
  });
});

describe('defaults', () => {
  it('are the ones the driver README documents', () => {
    const readme = readFileSync(
      join(dirname(fileURLToPath(import.meta.url)), '../../src/platforms/linux-ssh/README.md'),
      'utf8',
    ).replace(/\n/g, ' ');
    for (const [option, value] of Object.entries(LINUX_DEFAULTS))
      expect(readme, option).toContain(`\`${option}\` (\`${value}\`)`);
    expect(Object.keys(LINUX_DEFAULTS).sort()).toEqual(['certificate_path', 'key_path', 'reload_command']);
  });
});
