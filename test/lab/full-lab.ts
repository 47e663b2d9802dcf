import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Document, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { registerAccount } from '../../src/acme/account.ts';
import { loadRepository } from '../../src/repository/load.ts';
import { secretsByEnvironment } from '../../src/secrets/environments.ts';
import type { TlsEndpoint } from '../../src/verify/tls.ts';
import { fetchServedChain } from '../../src/verify/tls.ts';
import { stopActionProcesses } from '../helpers/action.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';
import { type LinuxHost, startLinuxHost } from './devices/linux-host.ts';
import { DELEGATE_ZONE_ID, LAB_CREDENTIALS } from './dns/lab.ts';
import { F5Simulator } from './f5/simulator.ts';
import { GitHubEmulator } from './github/emulator.ts';
import { SlackReceiver } from './github/receiver.ts';
import { type IssuanceLab, startIssuanceLab } from './issuance-lab.ts';
import { LighthouseSimulator } from './lighthouse/simulator.ts';
import { PanosSimulator } from './panos/simulator.ts';
import { servedSpkiPin } from './pin.ts';
import { SsmEmulator } from './ssm/emulator.ts';

/** The password every lab appliance accepts for `admin` (the lab's secrets hold `admin:<it>`). */
const APPLIANCE_PASSWORD = 'lab-appliance-password-1';
export const LAB_GITHUB_TOKEN = 'ghs_labInstallationToken000000000000001';
export const LAB_OWNER = 'acme';
export const LAB_REPO = 'pki';

export interface LabDevice {
  system_name: string;
  platform: string;
  file: string;
  /** Where the device serves the certificate being rotated. */
  endpoint: TlsEndpoint;
}

export interface FullLab {
  dir: string;
  /** The bare repository standing in for GitHub's copy ("origin"). */
  origin: string;
  ca: IssuanceLab;
  github: GitHubEmulator;
  slack: SlackReceiver;
  ssm: SsmEmulator;
  panos: Map<string, PanosSimulator>;
  f5: Map<string, F5Simulator>;
  lighthouse: Map<string, LighthouseSimulator>;
  hosts: Map<string, LinuxHost>;
  devices: LabDevice[];
  /** Every secret's value, by name (what the organisation holds). */
  secrets: Record<string, string>;
  /**
   * The GitHub environments' secrets as `ottr secrets` says to create them: pki-<data_center> for each data
   * center's rotate jobs, pki-report for the report job. A job sees only its own environment's.
   */
  environments: Record<string, Record<string, string>>;
  /** Environment of a self-hosted runner in the lab: AWS endpoints and credentials, the lab CA's HTTPS root. */
  runnerEnv: NodeJS.ProcessEnv;
  /** A fresh clone of origin with every branch, as actions/checkout with fetch-depth 0 makes one. */
  clone(name: string): string;
  /** The serial number a device serves now. */
  servedSerial(systemName: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

export interface FullLabOptions {
  /** The repository whose inventory and routing are copied (default: this project's sample). */
  sample?: string;
  log?: (line: string) => void;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Lab', '-c', 'user.email=lab@example.test', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

function deviceFiles(root: string): string[] {
  const out: string[] = [];
  for (const dc of readdirSync(join(root, 'inventory')).sort())
    for (const f of readdirSync(join(root, 'inventory', dc)).sort())
      if (f.endsWith('.yaml')) out.push(`inventory/${dc}/${f}`);
  return out;
}

/**
 * The whole lab on loopback: Pebble with the Route53 emulator and the DNS server, one simulated appliance per
 * PAN-OS / F5 / Lighthouse device, a real sshd + nginx per Linux device (reached over SSH or through the SSM
 * emulator), the GitHub emulator with a bare "origin", and a Slack receiver. The sample repository is copied
 * into a scratch repository whose device files and routing point at the lab (addresses, ports, pins, paths);
 * names, platforms, versions, authorities and recorded certificates stay as the sample has them.
 */
export async function startFullLab(options: FullLabOptions = {}): Promise<FullLab> {
  const log = options.log ?? (() => {});
  const sample = options.sample ?? PROJECT_ROOT;
  const dir = mkdtempSync(join(tmpdir(), 'ottr-lab-'));
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    await stopActionProcesses();
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (error) {
      log(`could not remove ${dir}: ${(error as Error).message}`);
    }
  };
  try {
    log('starting Pebble, the Route53 emulator and the DNS server');
    const ca = await startIssuanceLab({
      directory: 'https://unused.invalid/dir',
      account_key_secret: 'LE_ACCOUNT_KEY',
      key: { type: 'ecdsa', curve: 'P-256' },
    });
    stops.push(() => ca.stop());
    const corp = await registerAccount(
      { directory: ca.pebble.directoryUrl, account_key_secret: 'X' },
      ca.pebble.directoryUrl,
      {},
    );
    const ssm = new SsmEmulator();
    await ssm.start();
    stops.push(() => ssm.stop());
    const github = new GitHubEmulator();
    github.tokens.add(LAB_GITHUB_TOKEN);
    await github.start();
    stops.push(() => github.stop());
    const slack = new SlackReceiver();
    await slack.start();
    stops.push(() => slack.stop());

    const repo = join(dir, 'seed');
    mkdirSync(join(repo, 'routing'), { recursive: true });
    cpSync(join(sample, 'schemas'), join(repo, 'schemas'), { recursive: true });
    cpSync(join(sample, 'inventory'), join(repo, 'inventory'), { recursive: true });
    writeFileSync(join(repo, 'routing/lab-ca.pem'), ca.roots.join('\n'));
    writeFileSync(join(dir, 'pebble-https.pem'), ca.pebble.httpsCaPem);

    const settings = parseDocument(readFileSync(join(sample, 'routing/settings.yaml'), 'utf8'));
    for (const pair of (settings.get('authorities') as YAMLMap).items) {
      const authority = pair.value as YAMLMap;
      authority.set('directory', ca.pebble.directoryUrl);
      for (const field of ['staging_directory', 'expected_issuers', 'profile', 'eab'])
        authority.delete(field);
      authority.set('roots_file', 'routing/lab-ca.pem');
      authority.set('ari', false);
    }
    settings.setIn(['dns', 'hosted_zone_id'], DELEGATE_ZONE_ID);
    settings.setIn(['dns', 'resolvers'], [ca.dns.server]);
    settings.setIn(['dns', 'propagation'], {
      check: 'authoritative',
      timeout: '10s',
      nameservers: [ca.dns.server],
    });
    settings.setIn(['limits', 'timeout'], '2m');
    // Every lab device listens on loopback: that is the lab data centers' network.
    const networks = settings.get('networks') as YAMLMap | undefined;
    for (const pair of networks?.items ?? []) networks!.set(pair.key, settings.createNode(['127.0.0.0/8']));
    writeFileSync(join(repo, 'routing/settings.yaml'), settings.toString({ lineWidth: 0 }));

    const routes = parseDocument(readFileSync(join(sample, 'routing/routes.yaml'), 'utf8'));
    const labRules: unknown[] = [];
    const secrets: Record<string, string> = {
      LE_ACCOUNT_KEY: ca.accountKeyPem,
      CORP_CA_ACCOUNT_KEY: corp.accountKeyPem,
      SLACK_WEBHOOK_URL: slack.url,
    };
    const panos = new Map<string, PanosSimulator>();
    const f5 = new Map<string, F5Simulator>();
    const lighthouse = new Map<string, LighthouseSimulator>();
    const hosts = new Map<string, LinuxHost>();
    const devices: LabDevice[] = [];
    const users = { admin: APPLIANCE_PASSWORD };

    for (const file of deviceFiles(repo)) {
      const doc: Document = parseDocument(readFileSync(join(repo, file), 'utf8'));
      const name = String(doc.get('system_name'));
      const commonName = String(doc.get('common_name'));
      const sans = ((doc.get('subject_alternative_names') as YAMLSeq | undefined)?.toJSON() ??
        []) as string[];
      const platform = String(doc.get('host_platform'));
      const credentials = doc.getIn(['connection', 'credentials']) as string | undefined;
      ca.dns.addAliases([commonName, ...sans]);
      doc.set('ip_address', '127.0.0.1');
      let endpoint: TlsEndpoint;
      if (platform === 'panos' || platform === 'f5' || platform === 'lighthouse') {
        log(`starting the ${platform} simulator for ${name}`);
        let port: number;
        if (platform === 'panos') {
          const sim = new PanosSimulator(commonName, users);
          await sim.start();
          stops.push(() => sim.stop());
          panos.set(name, sim);
          port = sim.port;
        } else if (platform === 'f5') {
          const sim = new F5Simulator(commonName, users);
          await sim.start();
          stops.push(() => sim.stop());
          f5.set(name, sim);
          port = sim.port;
        } else {
          const sim = new LighthouseSimulator(commonName, users);
          await sim.start();
          stops.push(() => sim.stop());
          lighthouse.set(name, sim);
          port = sim.port;
        }
        endpoint = { host: '127.0.0.1', port, servername: commonName };
        doc.set('certificate_validation', false);
        doc.setIn(['connection', 'port'], port);
        doc.setIn(['connection', 'tls_spki_sha256'], await servedSpkiPin(endpoint));
        if (credentials) secrets[credentials] = `admin:${APPLIANCE_PASSWORD}`;
      } else {
        log(`starting sshd and nginx for ${name}`);
        const host = await startLinuxHost([commonName, ...sans]);
        stops.push(() => host.stop());
        hosts.set(name, host);
        endpoint = { host: '127.0.0.1', port: host.tlsPort, servername: commonName };
        const model = `lab-${name}`;
        doc.set('device_model', model);
        doc.setIn(['connection', 'tls_port'], host.tlsPort);
        // The lab's sshd and nginx run as the test's own user: nothing needs sudo there.
        doc.deleteIn(['connection', 'sudo']);
        const viaSsm = doc.getIn(['connection', 'instance_id']) ?? doc.getIn(['connection', 'instance_tag']);
        if (viaSsm) {
          const tag = doc.getIn(['connection', 'instance_tag']) as YAMLMap | undefined;
          const tagJson = tag?.toJSON() as { key: string; value: string } | undefined;
          ssm.instances.push({
            id: String(doc.getIn(['connection', 'instance_id']) ?? `i-0lab${name.replace(/[^a-z0-9]/g, '')}`),
            tags: tagJson ? { [tagJson.key]: tagJson.value } : {},
            online: true,
            dir: host.dir,
          });
          doc.setIn(['connection', 'region'], 'eu-west-1');
        } else {
          doc.setIn(['connection', 'port'], host.sshPort);
          doc.setIn(['connection', 'username'], host.username);
          doc.setIn(['connection', 'ssh_host_key'], host.hostKeyFingerprint);
          if (credentials) secrets[credentials] = host.clientKeyPem;
        }
        // Each lab host keeps its files in its own directory: one rule per host, ahead of the sample's rules.
        labRules.push({
          name: `lab-${name}`,
          match: { host_platform: 'linux', device_model: [model] },
          platform: viaSsm ? 'linux-ssm' : 'linux-ssh',
          options: {
            certificate_path: host.certificatePath,
            key_path: host.keyPath,
            reload_command: host.reloadCommand,
          },
        });
      }
      writeFileSync(join(repo, file), doc.toString({ lineWidth: 0 }));
      devices.push({ system_name: name, platform, file, endpoint });
    }
    const ruleList = routes.get('routes') as YAMLSeq;
    ruleList.items.unshift(...labRules.map((r) => routes.createNode(r)));
    writeFileSync(join(repo, 'routing/routes.yaml'), routes.toString({ lineWidth: 0 }));

    const labRepo = await loadRepository(repo);
    if (!labRepo.settings) throw new Error('the lab settings are invalid');
    const environments: Record<string, Record<string, string>> = {};
    for (const need of secretsByEnvironment(labRepo.settings, labRepo.records)) {
      const values: Record<string, string> = {};
      for (const s of need.secrets) if (secrets[s.name] !== undefined) values[s.name] = secrets[s.name]!;
      environments[need.environment] = values;
    }

    const origin = join(dir, 'origin.git');
    git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
    git(repo, 'init', '--quiet', '--initial-branch=main');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'The lab inventory (the sample, pointed at the lab)');
    git(repo, 'push', '--quiet', origin, 'main');
    github.addRepo(LAB_OWNER, LAB_REPO, {
      gitDir: origin,
      guardWorkflowPushes: true,
      protectedBranches: ['main'],
    });

    const runnerEnv: NodeJS.ProcessEnv = {
      AWS_ENDPOINT_URL_ROUTE_53: ca.dns.route53.endpoint,
      AWS_ENDPOINT_URL_SSM: ssm.endpoint,
      AWS_ACCESS_KEY_ID: LAB_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LAB_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'eu-west-1',
      NODE_EXTRA_CA_CERTS: join(dir, 'pebble-https.pem'),
    };
    return {
      dir,
      origin,
      ca,
      github,
      slack,
      ssm,
      panos,
      f5,
      lighthouse,
      hosts,
      devices,
      secrets,
      environments,
      runnerEnv,
      clone(name) {
        const path = join(dir, name);
        rmSync(path, { recursive: true, force: true });
        git(dir, 'clone', '--quiet', '--no-single-branch', origin, path);
        return path;
      },
      async servedSerial(systemName) {
        const device = devices.find((d) => d.system_name === systemName);
        if (!device) return undefined;
        const chain = await fetchServedChain(device.endpoint, 5000).catch(() => []);
        return chain[0]?.serialNumber.toLowerCase();
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
