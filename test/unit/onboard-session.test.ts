import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UsageError } from '../../src/cli/command.ts';
import { createOnboardCommand } from '../../src/cli/commands/onboard.ts';
import { authorityChoices } from '../../src/onboard/checks.ts';
import { loadRepository } from '../../src/repository/load.ts';
import { makeRepo, type TempRepo } from '../helpers/cli.ts';

let repo: TempRepo;
beforeEach(() => {
  repo = makeRepo({ withSampleInventory: true });
});
afterEach(() => repo.cleanup());

/**
 * Runs `ottr onboard` on a terminal whose answers are scripted; `read` counts the answers the questions took
 * (a line is read only when a question asks for one).
 */
async function session(argv: string[], answers: string[]) {
  let stdout = '';
  let stderr = '';
  let read = 0;
  const lines = answers.map((a) => `${a}\n`);
  const input = new Readable({
    read() {
      const next = lines.shift();
      if (next === undefined) this.push(null);
      else {
        read++;
        this.push(next);
      }
    },
  });
  const command = createOnboardCommand(() => ({ input, interactive: true }));
  const io = {
    stdout: (t: string) => {
      stdout += t;
    },
    stderr: (t: string) => {
      stderr += t;
    },
    env: {},
    cwd: repo.root,
  };
  let code: number;
  try {
    code = await command.run(argv, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    code = 2;
    stderr += error.message;
  }
  return { code, stdout, stderr, read };
}

const device = (file: string) => parse(readFileSync(join(repo.root, file), 'utf8'));

/** Every flag of a PAN-OS firewall in sfo1 except ip_address. */
const FIREWALL = [
  '--system-name',
  'fw-sfo1-07',
  '--common-name',
  'fw-sfo1-07.mgmt.example.com',
  '--host-platform',
  'panos',
  '--os-version',
  '10.2.4',
  '--data-center',
  'sfo1',
  '--certificate-authority',
  'lets_encrypt',
  '--credentials',
  'PANOS_SFO1_API_KEY',
];

describe('ottr onboard checks flags before asking anything', () => {
  it.each([
    [
      ['--certificate-authority', 'lets_encrpyt'],
      '--certificate-authority: "lets_encrpyt" is not an authority in routing/settings.yaml; did you mean "lets_encrypt"?',
    ],
    [
      ['--host-platform', 'cisco-ios'],
      '--host-platform: "cisco-ios" is not the host_platform of any routing rule (routing/routes.yaml routes: panos, f5, lighthouse, linux)',
    ],
    [
      ['--system-name', 'Web_01'],
      '--system-name: use lowercase letters, digits, . _ - (at most 63, a letter or digit first)',
    ],
    [
      ['--data-center', 'sfo1', '--ip-address', '198.51.100.7'],
      '--ip-address: 198.51.100.7 is outside the networks of data center sfo1 (networks.sfo1: 192.0.2.0/24)',
    ],
    [['--ip-address', '192.0.2.300'], '--ip-address: "192.0.2.300" is not a valid IPv4 or IPv6 address'],
    [
      ['--data-center', 'ams2', '--common-name', 'web.sfo1.example.com'],
      '--common-name: "web.sfo1.example.com" is outside the names data center ams2 may request',
    ],
    [
      [
        '--host-platform',
        'lighthouse',
        '--os-version',
        '23.10.2',
        '--data-center',
        'sfo1',
        '--certificate-authority',
        'lets_encrypt',
      ],
      '--certificate-authority: platform lighthouse (routing rule "lighthouse") generates RSA keys only, and authority "lets_encrypt" requires ECDSA (key.type in routing/settings.yaml)',
    ],
  ])('%j fails with a usage error before the first question', async (flags, message) => {
    const run = await session(['--system-name', 'new-01', ...flags], ['new-01.mgmt.example.com', 'panos']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('nothing was asked or written');
    expect(run.read).toBe(0);
    expect(run.stderr).not.toMatch(/common_name.*: $/m);
  });
});

describe('ottr onboard offers only the authorities the platform can meet', () => {
  it('a Lighthouse (RSA keys only) is not offered the ECDSA authority, and cannot choose it', async () => {
    const run = await session(
      ['--system-name', 'console-sfo1-02'],
      [
        'console-sfo1-02.mgmt.example.com', // common_name
        '', // subject_alternative_names
        'lighthouse', // host_platform
        '23.10.2', // os_version
        '', // device_model
        'sfo1', // data_center
        '192.0.2.103', // ip_address
        'lets_encrypt', // certificate_authority: not offered, refused
        '1', // the first one offered
        '', // owner
        'LIGHTHOUSE_SFO1_ADMIN', // connection.credentials
      ],
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      '  not offered: lets_encrypt: platform lighthouse (routing rule "lighthouse") generates RSA keys only, and authority "lets_encrypt" requires ECDSA',
    );
    expect(run.stderr).toContain('certificate_authority (1) lets_encrypt_rsa, 2) corp_ca): ');
    expect(run.stderr).toContain('  choose one of: lets_encrypt_rsa, corp_ca');
    expect(device('inventory/sfo1/console-sfo1-02.yaml')).toMatchObject({
      certificate_authority: 'lets_encrypt_rsa',
      ip_address: '192.0.2.103',
    });
  });

  it('when no authority fits the platform, says so instead of offering one that would fail', async () => {
    const settings = readFileSync(join(repo.root, 'routing/settings.yaml'), 'utf8');
    repo.write(
      'routing/settings.yaml',
      settings.replace(/key: \{ type: rsa, size: 2048 \}/g, 'key: { type: ecdsa }'),
    );
    const run = await session(
      ['--system-name', 'console-sfo1-03', '--host-platform', 'lighthouse', '--os-version', '23.10.2'],
      ['console-sfo1-03.mgmt.example.com', '', 'sfo1', ''],
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'ottr onboard: no authority in routing/settings.yaml can issue for this device: platform lighthouse (routing rule "lighthouse") generates RSA keys only, and authority "lets_encrypt" requires ECDSA',
    );
    expect(run.stderr).toContain('nothing was written');
    expect(existsSync(join(repo.root, 'inventory/sfo1/console-sfo1-03.yaml'))).toBe(false);
  });

  it('a platform that makes both key types is offered every authority', async () => {
    const repository = await loadRepository(repo.root);
    const draft = { host_platform: 'panos', os_version: '10.2.4', data_center: 'sfo1' };
    expect(authorityChoices(repository, draft)).toEqual({
      offered: ['lets_encrypt', 'lets_encrypt_rsa', 'corp_ca'],
      refused: [],
    });
    const lighthouse = authorityChoices(repository, { ...draft, host_platform: 'lighthouse' });
    expect(lighthouse.offered).toEqual(['lets_encrypt_rsa', 'corp_ca']);
    expect(lighthouse.refused.map((r) => r.authority)).toEqual(['lets_encrypt']);
  });
});

describe('ottr onboard asks again instead of throwing the session away', () => {
  it('a name the data center may not request is asked again once the data center is known, and the file is written', async () => {
    const run = await session(
      ['--system-name', 'fw-sfo1-08'],
      [
        'fw-sfo1-08.ams2.example.com', // common_name: fine alone, outside sfo1's names once sfo1 is chosen
        '', // subject_alternative_names
        'panos', // host_platform
        '10.2.4', // os_version
        '', // device_model
        'sfo1', // data_center
        '', // ip_address
        'lets_encrypt', // certificate_authority
        '', // owner
        'PANOS_AMS2_API_KEY', // connection.credentials: bound to ams2, refused at once
        'PANOS_SFO1_API_KEY',
        'fw-sfo1-08.mgmt.example.com', // common_name, asked again
      ],
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /connection\.credentials \[PANOS_API_KEY\]: {3}the secret PANOS_AMS2_API_KEY .*sfo1/,
    );
    expect(run.stderr).toContain(
      '  common_name: "fw-sfo1-08.ams2.example.com" is outside the names data center sfo1 may request',
    );
    expect(run.stderr).toContain('; answer it again\n');
    expect(run.read).toBe(12);
    expect(device('inventory/sfo1/fw-sfo1-08.yaml')).toMatchObject({
      common_name: 'fw-sfo1-08.mgmt.example.com',
      connection: { credentials: 'PANOS_SFO1_API_KEY' },
    });
  });

  it("an answer the schema refuses is asked again at once, with the schema's reason", async () => {
    const flags = FIREWALL.filter((a, i) => a !== '--os-version' && FIREWALL[i - 1] !== '--os-version');
    const run = await session(flags, ['10 2 4', '10.2.4', '', '192.0.2.79']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('  must be a version string like "10.2.4"');
    expect(device('inventory/sfo1/fw-sfo1-07.yaml')).toMatchObject({
      os_version: '10.2.4',
      ip_address: '192.0.2.79',
    });
  });
});

describe('ottr onboard and a file that already exists', () => {
  const flags = FIREWALL.slice(2).concat('--ip-address', '192.0.2.92'); // all but --system-name

  it('a system_name whose file exists is asked again instead of failing after the session', async () => {
    const run = await session(flags, ['fw-sfo1-01', 'fw-sfo1-10']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('  inventory/sfo1/fw-sfo1-01.yaml already exists (--force overwrites it)\n');
    expect(run.stdout).toContain('wrote inventory/sfo1/fw-sfo1-10.yaml');
  });

  it('named by the flags, it stops before the first question', async () => {
    const run = await session(['--system-name', 'fw-sfo1-01', ...flags], ['anything']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'inventory/sfo1/fw-sfo1-01.yaml already exists; nothing was asked or written',
    );
    expect(run.read).toBe(0);
  });
});

describe('ottr onboard asks again for what routing needs', () => {
  it('no rule for the platform and version: asks host_platform, os_version and device_model again', async () => {
    const run = await session(
      [
        '--system-name',
        'fw-sfo1-09',
        '--common-name',
        'fw-sfo1-09.mgmt.example.com',
        '--data-center',
        'sfo1',
        '--certificate-authority',
        'lets_encrypt',
        '--credentials',
        'PANOS_SFO1_API_KEY',
        '--ip-address',
        '192.0.2.90',
      ],
      ['panos', '9.1.4', '', 'panos', '10.1.0', ''],
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      / {2}host_platform: no routing rule matches \(host_platform=panos, os_version=9\.1\.4, .*; answer host_platform, os_version, device_model again\n/,
    );
    expect(run.read).toBe(6);
    expect(run.stdout).toContain(
      'wrote inventory/sfo1/fw-sfo1-09.yaml (routing rule "panos-10" → platform panos)',
    );
  });

  it('a complete set of flags that no rule routes fails before asking', async () => {
    const flags = FIREWALL.map((a) => (a === '10.2.4' ? '9.1.4' : a));
    const run = await session(flags, ['192.0.2.91']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--host-platform, --os-version, --device-model: no routing rule matches');
    expect(run.read).toBe(0);
  });
});

describe('ottr onboard asks for ip_address', () => {
  it('asks for it even when every other field came as a flag, and checks it against the data center', async () => {
    const run = await session(FIREWALL, ['not-an-address', '198.51.100.7', '192.0.2.77']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('ip_address (else common_name is resolved) [skip]: ');
    expect(run.stderr).toContain('  "not-an-address" is not a valid IPv4 or IPv6 address');
    expect(run.stderr).toContain(
      '  198.51.100.7 is outside the networks of data center sfo1 (networks.sfo1: 192.0.2.0/24)',
    );
    expect(run.read).toBe(3);
    expect(device('inventory/sfo1/fw-sfo1-07.yaml').ip_address).toBe('192.0.2.77');
  });

  it('may be skipped: the device is then reached by its common_name', async () => {
    const run = await session(FIREWALL, ['']);
    expect(run.code, run.stderr).toBe(0);
    expect(device('inventory/sfo1/fw-sfo1-07.yaml').ip_address).toBeUndefined();
  });

  it('is not asked with --yes, and a flag value is checked the same way', async () => {
    const run = await session([...FIREWALL, '--yes', '--ip-address', '192.0.2.78'], []);
    expect(run.code, run.stderr).toBe(0);
    expect(run.read).toBe(0);
    expect(existsSync(join(repo.root, 'inventory/sfo1/fw-sfo1-07.yaml'))).toBe(true);
  });
});
