import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fetchServedChain } from '../../../src/verify/tls.ts';
import { freePort, spawnLabProcess, stopLabProcess } from '../processes.ts';
import { writeSelfSigned } from '../self-signed.ts';

export interface LinuxHost {
  dir: string;
  sshPort: number;
  tlsPort: number;
  username: string;
  /** The runner's private key for the host (what the credentials secret would hold). */
  clientKeyPem: string;
  /** `SHA256:…` of the host key, as ssh-keygen -l prints it. */
  hostKeyFingerprint: string;
  certificatePath: string;
  keyPath: string;
  reloadCommand: string;
  /** Everything sshd logged, for assertions about what ran. */
  sshdLog(): string;
  stop(): Promise<void>;
}

/**
 * A self-contained Linux "device": the real OpenSSH sshd and the real nginx from Debian, on loopback high ports,
 * with configs, keys and served files in one temporary directory. nginx serves TLS with the device certificate.
 */
export async function startLinuxHost(names: string[]): Promise<LinuxHost> {
  // Ports are picked free and bound a moment later; if another process took one meanwhile, start again.
  for (let attempt = 1; ; attempt++) {
    const host = await startOnce(names).catch((error: Error) => {
      if (attempt >= 3 || !/Address already in use/.test(error.message)) throw error;
      return undefined;
    });
    if (!host) continue;
    const served = await fetchServedChain({
      host: '127.0.0.1',
      port: host.tlsPort,
      servername: names[0]!,
    }).catch(() => []);
    const ours = new X509Certificate(readFileSync(host.certificatePath)).fingerprint256;
    if (served[0]?.fingerprint256 === ours) return host;
    await host.stop();
    if (attempt >= 3) throw new Error('the lab Linux host could not get free ports');
  }
}

async function startOnce(names: string[]): Promise<LinuxHost> {
  const dir = mkdtempSync(join(tmpdir(), 'ottr-linux-'));
  const tls = join(dir, 'tls');
  mkdirSync(tls);
  mkdirSync(join(dir, 'nginx-temp'));
  const [sshPort, tlsPort] = await Promise.all([freePort(), freePort()]);
  const username = userInfo().username;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const hostKeyFingerprint = execFileSync(
    'ssh-keygen',
    ['-l', '-E', 'sha256', '-f', join(dir, 'host_key.pub')],
    { encoding: 'utf8' },
  ).split(' ')[1]!;
  const certificatePath = join(tls, 'fullchain.pem');
  const keyPath = join(tls, 'privkey.pem');
  writeSelfSigned(names, keyPath, certificatePath);

  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${sshPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${username}`,
      'LogLevel VERBOSE',
    ].join('\n'),
  );
  const nginxConf = join(dir, 'nginx.conf');
  writeFileSync(
    nginxConf,
    `daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} info;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'nginx-temp')};
  proxy_temp_path ${join(dir, 'nginx-temp')};
  fastcgi_temp_path ${join(dir, 'nginx-temp')};
  uwsgi_temp_path ${join(dir, 'nginx-temp')};
  scgi_temp_path ${join(dir, 'nginx-temp')};
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    server_name ${names.join(' ')};
    ssl_certificate ${certificatePath};
    ssl_certificate_key ${keyPath};
    location / { return 200 "device ${names[0]}\\n"; }
  }
}
`,
  );
  let sshdOutput = '';
  const sshd = spawnLabProcess('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  sshd.stderr?.on('data', (c: Buffer) => {
    sshdOutput += c.toString();
  });
  const nginx = spawnLabProcess('/usr/sbin/nginx', ['-p', dir, '-c', nginxConf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let nginxOutput = '';
  nginx.stderr?.on('data', (c: Buffer) => {
    nginxOutput += c.toString();
  });
  const stop = async () => {
    await Promise.all([stopLabProcess(sshd), stopLabProcess(nginx)]);
    rmSync(dir, { recursive: true, force: true });
  };
  // Probe by connecting: a probe that binds the port itself can take it from the server it waits for.
  const listening = async (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  const deadline = Date.now() + 10_000;
  while (!(await listening(sshPort)) || !(await listening(tlsPort))) {
    if (sshd.exitCode !== null || nginx.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `the lab Linux host did not start:\nsshd: ${sshdOutput.slice(-1500)}\nnginx: ${nginxOutput.slice(-1500)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir,
    sshPort,
    tlsPort,
    username,
    clientKeyPem: readFileSync(join(dir, 'client_key'), 'utf8'),
    hostKeyFingerprint,
    certificatePath,
    keyPath,
    reloadCommand: `/usr/sbin/nginx -p ${dir} -c ${nginxConf} -s reload`,
    sshdLog: () => sshdOutput,
    stop,
  };
}
