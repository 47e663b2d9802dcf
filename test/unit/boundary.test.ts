import { describe, expect, it } from 'vitest';
import {
  deviceBoundaryFindings,
  nameGrantProblem,
  parseCidr,
  secretGrantProblem,
} from '../../src/model/boundary.ts';
import type { Device, Settings } from '../../src/model/types.ts';

const settings: Settings = {
  authorities: { le: { directory: 'https://acme.example/dir', account_key_secret: 'LE_KEY' } },
  dns: { provider: 'route53', delegate_zone: 'acme.example.net', hosted_zone_id: 'Z1' },
  runners: { by_data_center: { sfo1: ['sfo1'], ams2: ['ams2'] } },
  secrets: {
    LE_KEY: { purpose: 'acme_account' },
    FW_SFO1: { purpose: 'device_credential', data_centers: ['sfo1'], platforms: ['panos'] },
    WEB_SFO1: { purpose: 'device_credential', data_centers: ['sfo1'], routes: ['web'] },
    SHARED: { purpose: 'device_credential', data_centers: ['sfo1', 'ams2'] },
    SLACK: { purpose: 'notification' },
  },
  names: {
    sfo1: { suffixes: ['mgmt.example.com', 'Example.NET.'] },
    ams2: { suffixes: ['ams2.example.com'], wildcards: true },
  },
  networks: { ams2: ['198.51.100.0/24', '2001:db8:a::/48'] },
  ssm: { instance_tags: { ams2: [{ key: 'ottr:target' }, { key: 'Name', value: 'web-1' }] } },
};

describe('secretGrantProblem', () => {
  it('grants a declared credential to its data center, platform and rule only', () => {
    expect(
      secretGrantProblem(settings, 'FW_SFO1', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
        platform: 'panos',
      }),
    ).toBeUndefined();
    expect(
      secretGrantProblem(settings, 'SHARED', {
        purpose: 'device_credential',
        dataCenter: 'ams2',
        platform: 'f5',
      }),
    ).toBeUndefined();
    expect(
      secretGrantProblem(settings, 'FW_SFO1', {
        purpose: 'device_credential',
        dataCenter: 'ams2',
        platform: 'panos',
      }),
    ).toBe('the secret FW_SFO1 is bound to data center sfo1, not ams2');
    expect(
      secretGrantProblem(settings, 'FW_SFO1', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
        platform: 'f5',
      }),
    ).toBe('the secret FW_SFO1 is bound to platform panos, not f5');
    expect(
      secretGrantProblem(settings, 'WEB_SFO1', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
        route: 'db',
      }),
    ).toBe('the secret WEB_SFO1 is bound to routing rule web, not "db"');
  });

  it('refuses undeclared names, other purposes and inherited object keys', () => {
    for (const name of ['AWS_SECRET_ACCESS_KEY', 'constructor', '__proto__', 'toString'])
      expect(
        secretGrantProblem(settings, name, { purpose: 'device_credential', dataCenter: 'sfo1' }),
      ).toMatch(/is not declared/);
    expect(
      secretGrantProblem(settings, 'LE_KEY', { purpose: 'device_credential', dataCenter: 'sfo1' }),
    ).toMatch(/declared as an ACME account key \(purpose acme_account\), not a device credential/);
    expect(
      secretGrantProblem(settings, 'SLACK', { purpose: 'device_credential', dataCenter: 'sfo1' }),
    ).toMatch(/notification/);
    expect(
      secretGrantProblem(settings, 'LE_KEY', { purpose: 'acme_account', dataCenter: 'ams2' }),
    ).toBeUndefined();
  });

  it('never has a value to put in a message: messages name secrets only', () => {
    const message = secretGrantProblem(settings, 'FW_SFO1', {
      purpose: 'device_credential',
      dataCenter: 'ams2',
    })!;
    expect(message).not.toMatch(/[a-z0-9]{20,}/);
  });
});

describe('nameGrantProblem', () => {
  it('a suffix covers itself and the names below it, case- and trailing-dot-insensitively', () => {
    expect(nameGrantProblem(settings, 'sfo1', 'mgmt.example.com')).toBeUndefined();
    expect(nameGrantProblem(settings, 'sfo1', 'fw-1.mgmt.example.com')).toBeUndefined();
    expect(nameGrantProblem(settings, 'sfo1', 'FW-1.MGMT.example.com')).toBeUndefined();
    expect(nameGrantProblem(settings, 'sfo1', 'vpn.example.net')).toBeUndefined();
  });

  it('a name that only ends in the same letters is outside', () => {
    expect(nameGrantProblem(settings, 'sfo1', 'evilmgmt.example.com')).toMatch(/is outside the names/);
    expect(nameGrantProblem(settings, 'sfo1', 'mgmt.example.com.evil.org')).toMatch(/is outside the names/);
    expect(nameGrantProblem(settings, 'sfo1', 'example.com')).toMatch(/is outside the names/);
  });

  it('wildcards only where allowed, and only within the suffixes', () => {
    expect(nameGrantProblem(settings, 'sfo1', '*.mgmt.example.com')).toMatch(
      /wildcards does not allow wildcards in sfo1/,
    );
    expect(nameGrantProblem(settings, 'ams2', '*.app.ams2.example.com')).toBeUndefined();
    expect(nameGrantProblem(settings, 'ams2', '*.example.com')).toMatch(/is outside/);
  });

  it('a data center without a names entry may request nothing', () => {
    expect(nameGrantProblem(settings, 'lab9', 'x.mgmt.example.com')).toMatch(
      /may request no names: .*names.lab9/,
    );
    expect(nameGrantProblem(settings, 'constructor', 'x.mgmt.example.com')).toMatch(/may request no names/);
  });
});

describe('deviceBoundaryFindings', () => {
  const device = (extra: Partial<Device>): Device => ({
    system_name: 'app-1',
    common_name: 'app-1.ams2.example.com',
    host_platform: 'linux',
    os_version: '2023',
    data_center: 'ams2',
    certificate_authority: 'le',
    ...extra,
  });
  const route = { name: 'linux-aws', platform: 'linux-ssm' };

  it('an SSM tag must be one the data center declares (a key alone allows any value)', () => {
    expect(
      deviceBoundaryFindings(
        device({ connection: { instance_tag: { key: 'ottr:target', value: 'x' } } }),
        settings,
        route,
      ),
    ).toEqual([]);
    expect(
      deviceBoundaryFindings(
        device({ connection: { instance_tag: { key: 'Name', value: 'web-1' } } }),
        settings,
        route,
      ),
    ).toEqual([]);
    const wrong = deviceBoundaryFindings(
      device({ connection: { instance_tag: { key: 'Name', value: 'db-1' } } }),
      settings,
      route,
    );
    expect(wrong.map((f) => [f.path.join('.'), f.message])).toEqual([
      [
        'connection.instance_tag',
        'tag Name=db-1 is not one data center ams2 may target (ssm.instance_tags.ams2: ottr:target=*, Name=web-1)',
      ],
    ]);
    const none = deviceBoundaryFindings(
      device({
        data_center: 'sfo1',
        common_name: 'a.mgmt.example.com',
        connection: { instance_tag: { key: 'ottr:target', value: 'x' } },
      }),
      settings,
      route,
    );
    expect(none[0]!.message).toMatch(/data center sfo1 may target no instance by tag/);
  });

  it('an authority whose account key is bound to other data centers is refused at certificate_authority', () => {
    const bound: Settings = {
      ...settings,
      secrets: { ...settings.secrets, LE_KEY: { purpose: 'acme_account', data_centers: ['sfo1'] } },
    };
    const findings = deviceBoundaryFindings(device({}), bound, route);
    expect(findings.map((f) => [f.path.join('.'), f.message])).toEqual([
      ['certificate_authority', 'authority "le": the secret LE_KEY is bound to data center sfo1, not ams2'],
    ]);
  });

  it("ip_address must lie in the data center's networks (IPv4 and IPv6); a data center without networks is not bound", () => {
    const at = (ip: string, dc = 'ams2') =>
      deviceBoundaryFindings(
        device({
          ip_address: ip,
          data_center: dc,
          common_name: dc === 'ams2' ? 'app-1.ams2.example.com' : 'a.mgmt.example.com',
        }),
        settings,
        route,
      ).map((f) => f.message);
    expect(at('198.51.100.7')).toEqual([]);
    expect(at('2001:db8:a::7')).toEqual([]);
    expect(at('198.51.101.7')).toEqual([
      '198.51.101.7 is outside the networks of data center ams2 (networks.ams2: 198.51.100.0/24, 2001:db8:a::/48); a device file cannot send its credential elsewhere',
    ]);
    expect(at('2001:db8:b::7')[0]).toMatch(/is outside the networks of data center ams2/);
    expect(at('127.0.0.1')[0]).toMatch(/is outside the networks/);
    expect(at('203.0.113.9', 'sfo1')).toEqual([]);
  });

  it('the passphrase secret is bound like the credential', () => {
    const findings = deviceBoundaryFindings(
      device({
        data_center: 'sfo1',
        common_name: 'web.mgmt.example.com',
        connection: { credentials: 'WEB_SFO1', passphrase_credentials: 'LE_KEY' },
      }),
      settings,
      { name: 'web', platform: 'linux-ssh' },
    );
    expect(findings.map((f) => f.path.join('.'))).toEqual(['connection.passphrase_credentials']);
  });
});

describe('parseCidr', () => {
  it('reads IPv4 and IPv6 blocks and refuses anything else', () => {
    expect(parseCidr('192.0.2.0/24')).toEqual({ address: '192.0.2.0', prefix: 24, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    for (const bad of ['192.0.2.0', '192.0.2.0/33', '2001:db8::/129', 'example.com/24', '/24', '192.0.2.0/x'])
      expect(parseCidr(bad)).toBeUndefined();
  });
});
