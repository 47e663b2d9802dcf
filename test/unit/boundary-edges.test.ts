// The trust boundary, played from the attacker's side: a device file that names another data center's
// credential, a name outside its data center's suffixes, an address outside its networks, a wildcard where none
// is granted — each refused with its exact message and field — and, beside each, the legitimate case accepted.
// Fixtures are copied from boundary.test.ts (docs/security.md: "What a device file can and cannot decide").
import { describe, expect, it } from 'vitest';
import {
  authoritySecrets,
  CREDENTIAL_FIELDS,
  deviceBoundaryFindings,
  deviceNames,
  deviceSecretRefusals,
  nameGrantProblem,
  parseCidr,
  secretGrantProblem,
  settingsBoundaryFindings,
  settingsSecretUses,
} from '../../src/model/boundary.ts';
import type { Device, SecretPurpose, Settings } from '../../src/model/types.ts';

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

/** `s` without one optional block, as settings.yaml that leaves it out. */
const without = (s: Settings, key: keyof Settings): Settings =>
  Object.fromEntries(Object.entries(s).filter(([k]) => k !== key)) as unknown as Settings;

const device = (extra: Partial<Device>): Device => ({
  system_name: 'app-1',
  common_name: 'app-1.ams2.example.com',
  host_platform: 'linux',
  os_version: '2023',
  data_center: 'ams2',
  certificate_authority: 'le',
  ...extra,
});

const PURPOSES: [SecretPurpose, string][] = [
  ['device_credential', 'a device credential'],
  ['acme_account', 'an ACME account key'],
  ['eab', 'an EAB value'],
  ['notification', 'a notification secret'],
  ['events', 'an events secret'],
  ['github_app', 'the GitHub App key'],
];

describe('secretGrantProblem: the attacker names a secret', () => {
  it('an undeclared name (a runner variable) is refused with the exact message', () => {
    expect(
      secretGrantProblem(settings, 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
      }),
    ).toBe(
      'the secret ACTIONS_ID_TOKEN_REQUEST_TOKEN is not declared in routing/settings.yaml secrets; only declared secrets can be used',
    );
  });

  it('settings without a secrets block declare nothing (and do not throw)', () => {
    const bare = without(settings, 'secrets');
    expect(secretGrantProblem(bare, 'LE_KEY', { purpose: 'acme_account' })).toMatch(/is not declared/);
    expect(secretGrantProblem(bare, 'constructor', { purpose: 'acme_account' })).toMatch(/is not declared/);
  });

  it('a secret of any other purpose is refused, naming both purposes in words', () => {
    for (const [declared, declaredText] of PURPOSES)
      for (const [used, usedText] of PURPOSES) {
        const s: Settings = { ...settings, secrets: { X: { purpose: declared, data_centers: ['sfo1'] } } };
        const problem = secretGrantProblem(s, 'X', { purpose: used, dataCenter: 'sfo1' });
        if (declared === used) expect(problem).toBeUndefined();
        else
          expect(problem).toBe(
            `the secret X is declared as ${declaredText} (purpose ${declared}), not ${usedText}`,
          );
      }
  });

  it("another data center's credential is refused; the plural names every bound data center", () => {
    expect(secretGrantProblem(settings, 'SHARED', { purpose: 'device_credential', dataCenter: 'lab9' })).toBe(
      'the secret SHARED is bound to data centers sfo1, ams2, not lab9',
    );
    expect(
      secretGrantProblem(settings, 'SHARED', { purpose: 'device_credential', dataCenter: 'sfo1' }),
    ).toBeUndefined();
    expect(
      secretGrantProblem(settings, 'FW_SFO1', { purpose: 'device_credential', dataCenter: 'ams2' }),
    ).toBe('the secret FW_SFO1 is bound to data center sfo1, not ams2');
  });

  it('a device credential bound to no data center is refused everywhere', () => {
    const s: Settings = { ...settings, secrets: { LOOSE: { purpose: 'device_credential' } } };
    expect(secretGrantProblem(s, 'LOOSE', { purpose: 'device_credential', dataCenter: 'sfo1' })).toBe(
      'the secret LOOSE is bound to no data center (secrets.LOOSE.data_centers)',
    );
    expect(secretGrantProblem(s, 'LOOSE', { purpose: 'device_credential' })).toBe(
      'the secret LOOSE is bound to no data center (secrets.LOOSE.data_centers)',
    );
  });

  it('an account key without data_centers is granted to every data center (the default: all)', () => {
    expect(secretGrantProblem(settings, 'LE_KEY', { purpose: 'acme_account', dataCenter: 'sfo1' })).toBe(
      undefined,
    );
    expect(secretGrantProblem(settings, 'LE_KEY', { purpose: 'acme_account' })).toBeUndefined();
  });

  it('a use without a data center (a settings-level job) is not held to data_centers', () => {
    const s: Settings = {
      ...settings,
      secrets: { ...settings.secrets, BOUND_KEY: { purpose: 'acme_account', data_centers: ['sfo1'] } },
    };
    expect(secretGrantProblem(s, 'BOUND_KEY', { purpose: 'acme_account' })).toBeUndefined();
    expect(secretGrantProblem(s, 'BOUND_KEY', { purpose: 'acme_account', dataCenter: 'ams2' })).toBe(
      'the secret BOUND_KEY is bound to data center sfo1, not ams2',
    );
  });

  it('platforms: refused on another driver (plural listed), not checked when no platform is known', () => {
    const s: Settings = {
      ...settings,
      secrets: {
        ...settings.secrets,
        FW2: { purpose: 'device_credential', data_centers: ['sfo1'], platforms: ['panos', 'f5'] },
      },
    };
    expect(
      secretGrantProblem(s, 'FW2', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
        platform: 'linux-ssh',
      }),
    ).toBe('the secret FW2 is bound to platforms panos, f5, not linux-ssh');
    expect(
      secretGrantProblem(s, 'FW2', { purpose: 'device_credential', dataCenter: 'sfo1', platform: 'f5' }),
    ).toBeUndefined();
    expect(
      secretGrantProblem(settings, 'FW_SFO1', { purpose: 'device_credential', dataCenter: 'sfo1' }),
    ).toBeUndefined();
    // A platform is never checked against a secret that names no platforms.
    expect(
      secretGrantProblem(settings, 'WEB_SFO1', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
        platform: 'anything',
        route: 'web',
      }),
    ).toBeUndefined();
  });

  it('routes: refused under another rule (plural listed), not checked when no rule is known', () => {
    const s: Settings = {
      ...settings,
      secrets: {
        ...settings.secrets,
        WEB2: { purpose: 'device_credential', data_centers: ['sfo1'], routes: ['web', 'api'] },
      },
    };
    expect(
      secretGrantProblem(s, 'WEB2', { purpose: 'device_credential', dataCenter: 'sfo1', route: 'db' }),
    ).toBe('the secret WEB2 is bound to routing rules web, api, not "db"');
    expect(
      secretGrantProblem(s, 'WEB2', { purpose: 'device_credential', dataCenter: 'sfo1', route: 'api' }),
    ).toBeUndefined();
    expect(
      secretGrantProblem(settings, 'WEB_SFO1', { purpose: 'device_credential', dataCenter: 'sfo1' }),
    ).toBeUndefined();
    expect(
      secretGrantProblem(settings, 'FW_SFO1', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
        platform: 'panos',
        route: 'anything',
      }),
    ).toBeUndefined();
  });

  it('the checks apply in order: purpose, then data center, then platform, then rule', () => {
    const s: Settings = {
      ...settings,
      secrets: {
        ALL: { purpose: 'device_credential', data_centers: ['sfo1'], platforms: ['panos'], routes: ['web'] },
      },
    };
    const wrong = { dataCenter: 'ams2', platform: 'f5', route: 'db' };
    expect(secretGrantProblem(s, 'ALL', { purpose: 'eab', ...wrong })).toMatch(/declared as/);
    expect(secretGrantProblem(s, 'ALL', { purpose: 'device_credential', ...wrong })).toMatch(
      /data center sfo1, not ams2/,
    );
    expect(
      secretGrantProblem(s, 'ALL', { purpose: 'device_credential', ...wrong, dataCenter: 'sfo1' }),
    ).toMatch(/platform panos, not f5/);
    expect(
      secretGrantProblem(s, 'ALL', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
        platform: 'panos',
        route: 'db',
      }),
    ).toMatch(/routing rule web, not "db"/);
    expect(
      secretGrantProblem(s, 'ALL', {
        purpose: 'device_credential',
        dataCenter: 'sfo1',
        platform: 'panos',
        route: 'web',
      }),
    ).toBeUndefined();
  });
});

describe('authoritySecrets and CREDENTIAL_FIELDS', () => {
  it('an account key alone, or with the EAB kid and HMAC, each with its purpose and field', () => {
    expect(CREDENTIAL_FIELDS).toEqual(['credentials', 'passphrase_credentials']);
    expect(authoritySecrets({ directory: 'https://a.example/dir', account_key_secret: 'K' })).toEqual([
      { name: 'K', purpose: 'acme_account', field: ['account_key_secret'] },
    ]);
    expect(
      authoritySecrets({
        directory: 'https://a.example/dir',
        account_key_secret: 'K',
        eab: { kid_secret: 'KID', hmac_secret: 'HMAC' },
      }),
    ).toEqual([
      { name: 'K', purpose: 'acme_account', field: ['account_key_secret'] },
      { name: 'KID', purpose: 'eab', field: ['eab', 'kid_secret'] },
      { name: 'HMAC', purpose: 'eab', field: ['eab', 'hmac_secret'] },
    ]);
  });
});

describe('deviceSecretRefusals: every secret a rotation would read', () => {
  const route = { name: 'web', platform: 'linux-ssh' };

  it('the legitimate device (granted credential, granted account key) is refused nothing', () => {
    expect(
      deviceSecretRefusals(
        settings,
        device({ data_center: 'sfo1', connection: { credentials: 'WEB_SFO1' } }),
        route,
      ),
    ).toEqual([]);
    expect(deviceSecretRefusals(settings, device({}), route)).toEqual([]);
    expect(deviceSecretRefusals(settings, device({ connection: {} }), undefined)).toEqual([]);
  });

  it("a device file in ams2 naming sfo1's credential and a runner variable is refused at each field", () => {
    expect(
      deviceSecretRefusals(
        settings,
        device({ connection: { credentials: 'FW_SFO1', passphrase_credentials: 'AWS_SECRET_ACCESS_KEY' } }),
        undefined,
      ),
    ).toEqual([
      {
        path: ['connection', 'credentials'],
        viaAuthority: false,
        declared: true,
        message: 'the secret FW_SFO1 is bound to data center sfo1, not ams2',
      },
      {
        path: ['connection', 'passphrase_credentials'],
        viaAuthority: false,
        declared: false,
        message:
          'the secret AWS_SECRET_ACCESS_KEY is not declared in routing/settings.yaml secrets; only declared secrets can be used',
      },
    ]);
  });

  it('only the named fields are checked: a passphrase alone is checked alone', () => {
    expect(
      deviceSecretRefusals(settings, device({ connection: { passphrase_credentials: 'SLACK' } }), undefined),
    ).toEqual([
      {
        path: ['connection', 'passphrase_credentials'],
        viaAuthority: false,
        declared: true,
        message:
          'the secret SLACK is declared as a notification secret (purpose notification), not a device credential',
      },
    ]);
  });

  it("the matched rule's platform and name bind the credential; without a rule they are not checked", () => {
    const fw = device({ data_center: 'sfo1', connection: { credentials: 'FW_SFO1' } });
    expect(deviceSecretRefusals(settings, fw, { name: 'fw', platform: 'panos' })).toEqual([]);
    expect(deviceSecretRefusals(settings, fw, undefined)).toEqual([]);
    expect(deviceSecretRefusals(settings, fw, { name: 'fw', platform: 'f5' })).toEqual([
      {
        path: ['connection', 'credentials'],
        viaAuthority: false,
        declared: true,
        message: 'the secret FW_SFO1 is bound to platform panos, not f5',
      },
    ]);
    const web = device({ data_center: 'sfo1', connection: { credentials: 'WEB_SFO1' } });
    expect(deviceSecretRefusals(settings, web, { name: 'db', platform: 'linux-ssh' })[0]?.message).toBe(
      'the secret WEB_SFO1 is bound to routing rule web, not "db"',
    );
  });

  it("the authority's account key and EAB values are checked against the device's data center", () => {
    const s: Settings = {
      ...settings,
      authorities: {
        ...settings.authorities,
        eabca: {
          directory: 'https://eab.example/dir',
          account_key_secret: 'EAB_ACCOUNT',
          eab: { kid_secret: 'EAB_KID', hmac_secret: 'EAB_HMAC' },
        },
      },
      secrets: {
        ...settings.secrets,
        EAB_ACCOUNT: { purpose: 'acme_account', data_centers: ['sfo1'] },
        EAB_KID: { purpose: 'eab', data_centers: ['sfo1', 'ams2'] },
      },
    };
    expect(deviceSecretRefusals(s, device({ certificate_authority: 'eabca' }), undefined)).toEqual([
      {
        path: ['certificate_authority'],
        viaAuthority: true,
        declared: true,
        message: 'authority "eabca": the secret EAB_ACCOUNT is bound to data center sfo1, not ams2',
      },
      {
        path: ['certificate_authority'],
        viaAuthority: true,
        declared: false,
        message:
          'authority "eabca": the secret EAB_HMAC is not declared in routing/settings.yaml secrets; only declared secrets can be used',
      },
    ]);
  });

  it('an unknown authority, or an inherited key like "constructor", reads no secrets', () => {
    for (const certificate_authority of ['nope', 'constructor', 'toString', '__proto__'])
      expect(deviceSecretRefusals(settings, device({ certificate_authority }), undefined)).toEqual([]);
  });

  it('settings without a secrets block refuse every secret as undeclared', () => {
    const bare = without(settings, 'secrets');
    expect(
      deviceSecretRefusals(bare, device({ connection: { credentials: 'SHARED' } }), undefined).map((r) => [
        r.path.join('.'),
        r.declared,
        r.viaAuthority,
      ]),
    ).toEqual([
      ['connection.credentials', false, false],
      ['certificate_authority', false, true],
    ]);
  });
});

describe('nameGrantProblem: the attacker requests a name', () => {
  it('settings without names grant nothing, with the exact message', () => {
    const bare = without(settings, 'names');
    expect(nameGrantProblem(bare, 'sfo1', 'a.mgmt.example.com')).toBe(
      'data center sfo1 may request no names: routing/settings.yaml has no names.sfo1',
    );
  });

  it("another data center's suffix is outside, with the exact message listing the suffixes", () => {
    expect(nameGrantProblem(settings, 'sfo1', 'app-1.ams2.example.com')).toBe(
      'is outside the names data center sfo1 may request (names.sfo1.suffixes: mgmt.example.com, Example.NET.)',
    );
    expect(nameGrantProblem(settings, 'ams2', 'fw.mgmt.example.com')).toBe(
      'is outside the names data center ams2 may request (names.ams2.suffixes: ams2.example.com)',
    );
  });

  it('each suffix of the list grants on its own (the first and the last)', () => {
    expect(nameGrantProblem(settings, 'sfo1', 'a.mgmt.example.com')).toBeUndefined();
    expect(nameGrantProblem(settings, 'sfo1', 'example.net')).toBeUndefined();
    expect(nameGrantProblem(settings, 'sfo1', 'A.B.EXAMPLE.NET')).toBeUndefined();
  });

  it('the suffix is matched at a label boundary at the end, never at the start or in the middle', () => {
    for (const evil of [
      'mgmt.example.com.evil.org',
      'mgmt.example.comx',
      'xmgmt.example.com',
      'mgmt-example.com',
      'mgmtxexample.com',
      'example.ne',
      'mgmt.example.co',
      'gmt.example.com',
    ])
      expect(nameGrantProblem(settings, 'sfo1', evil), evil).toMatch(/^is outside the names/);
  });

  it('a trailing dot is stripped only from the end of a suffix', () => {
    const s: Settings = { ...settings, names: { lab: { suffixes: ['lab.example.org.'] } } };
    expect(nameGrantProblem(s, 'lab', 'lab.example.org')).toBeUndefined();
    expect(nameGrantProblem(s, 'lab', 'x.lab.example.org')).toBeUndefined();
    expect(nameGrantProblem(s, 'lab', 'labexample.org')).toMatch(/is outside/);
    expect(nameGrantProblem(s, 'lab', 'x.lab.example.or')).toMatch(/is outside/);
  });

  it('a wildcard is refused where wildcards is absent or false, with the exact message', () => {
    const s: Settings = {
      ...settings,
      names: { ...settings.names, off: { suffixes: ['off.example.com'], wildcards: false } },
    };
    expect(nameGrantProblem(settings, 'sfo1', '*.mgmt.example.com')).toBe(
      'is a wildcard, and names.sfo1.wildcards does not allow wildcards in sfo1',
    );
    expect(nameGrantProblem(s, 'off', '*.off.example.com')).toBe(
      'is a wildcard, and names.off.wildcards does not allow wildcards in off',
    );
    expect(nameGrantProblem(s, 'off', 'a.off.example.com')).toBeUndefined();
  });

  it('only a leading "*." makes a wildcard', () => {
    // Not wildcards: the name's own check (dnsNameProblem) refuses these shapes; the grant judges the suffix.
    expect(nameGrantProblem(settings, 'sfo1', 'a.*.mgmt.example.com')).toBeUndefined();
    expect(nameGrantProblem(settings, 'sfo1', '*a.mgmt.example.com')).toBeUndefined();
  });

  it('a granted wildcard covers the suffix itself and below it, never outside it', () => {
    expect(nameGrantProblem(settings, 'ams2', '*.ams2.example.com')).toBeUndefined();
    expect(nameGrantProblem(settings, 'ams2', '*.A.AMS2.example.com')).toBeUndefined();
    expect(nameGrantProblem(settings, 'ams2', '*.evil.org')).toBe(
      'is outside the names data center ams2 may request (names.ams2.suffixes: ams2.example.com)',
    );
    expect(nameGrantProblem(settings, 'ams2', '*.xams2.example.com')).toMatch(/is outside/);
  });

  it('a wildcard suffix in settings (an error there) grants not even its own wildcard', () => {
    const s: Settings = { ...settings, names: { w: { suffixes: ['*.w.example.com'], wildcards: true } } };
    expect(nameGrantProblem(s, 'w', '*.w.example.com')).toMatch(/is outside/);
  });

  it('inherited keys are no data center', () => {
    for (const dc of ['toString', '__proto__', 'hasOwnProperty'])
      expect(nameGrantProblem(settings, dc, 'a.mgmt.example.com')).toMatch(/may request no names/);
  });
});

describe('deviceNames', () => {
  it('the common name, then each SAN with its index', () => {
    expect(deviceNames(device({}))).toEqual([{ name: 'app-1.ams2.example.com', path: ['common_name'] }]);
    expect(
      deviceNames(device({ subject_alternative_names: ['a.ams2.example.com', 'b.ams2.example.com'] })),
    ).toEqual([
      { name: 'app-1.ams2.example.com', path: ['common_name'] },
      { name: 'a.ams2.example.com', path: ['subject_alternative_names', 0] },
      { name: 'b.ams2.example.com', path: ['subject_alternative_names', 1] },
    ]);
  });
});

describe('deviceBoundaryFindings: one hostile device file', () => {
  const route = { name: 'linux-aws', platform: 'linux-ssm' };

  it('the legitimate device has no findings', () => {
    expect(
      deviceBoundaryFindings(
        device({
          subject_alternative_names: ['b.ams2.example.com'],
          ip_address: '198.51.100.20',
          connection: { credentials: 'SHARED', instance_tag: { key: 'Name', value: 'web-1' } },
        }),
        settings,
        route,
      ),
    ).toEqual([]);
  });

  it('everything wrong at once: each finding at its field, with its message', () => {
    const findings = deviceBoundaryFindings(
      device({
        data_center: 'ams2',
        common_name: 'fw.mgmt.example.com',
        subject_alternative_names: ['ok.ams2.example.com', 'evil.example.org'],
        ip_address: '203.0.113.66',
        connection: {
          credentials: 'FW_SFO1',
          passphrase_credentials: 'GITHUB_TOKEN',
          instance_tag: { key: 'Name', value: 'db-1' },
        },
      }),
      settings,
      route,
    );
    expect(findings).toEqual([
      {
        severity: 'error',
        path: ['connection', 'credentials'],
        message: 'the secret FW_SFO1 is bound to data center sfo1, not ams2',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['connection', 'passphrase_credentials'],
        message:
          'the secret GITHUB_TOKEN is not declared in routing/settings.yaml secrets; only declared secrets can be used',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['common_name'],
        message:
          '"fw.mgmt.example.com" is outside the names data center ams2 may request (names.ams2.suffixes: ams2.example.com)',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['subject_alternative_names', 1],
        message:
          '"evil.example.org" is outside the names data center ams2 may request (names.ams2.suffixes: ams2.example.com)',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['ip_address'],
        message:
          '203.0.113.66 is outside the networks of data center ams2 (networks.ams2: 198.51.100.0/24, 2001:db8:a::/48); a device file cannot send its credential elsewhere',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['connection', 'instance_tag'],
        message:
          'tag Name=db-1 is not one data center ams2 may target (ssm.instance_tags.ams2: ottr:target=*, Name=web-1)',
      },
    ]);
  });

  it('a data center without runners is an error at data_center, never a fallback', () => {
    const s: Settings = {
      ...settings,
      names: { ...settings.names, lab9: { suffixes: ['lab9.example.com'] } },
    };
    expect(
      deviceBoundaryFindings(device({ data_center: 'lab9', common_name: 'a.lab9.example.com' }), s, route),
    ).toEqual([
      {
        severity: 'error',
        path: ['data_center'],
        message:
          '"lab9" has no runners: add runners.by_data_center.lab9 in routing/settings.yaml (there is no default, so a device never runs where it was not meant to)',
        at: 'value',
      },
    ]);
    const noByDc: Settings = { ...s, runners: { default: ['big-runner'] } };
    expect(deviceBoundaryFindings(device({}), noByDc, route).map((f) => f.path.join('.'))).toEqual([
      'data_center',
    ]);
    expect(
      deviceBoundaryFindings(
        device({ data_center: 'constructor', common_name: 'a.lab9.example.com' }),
        s,
        route,
      )[0]?.path,
    ).toEqual(['data_center']);
  });

  it('an undeclared account key is left to settings.yaml; one bound elsewhere is refused at the device', () => {
    const undeclared: Settings = {
      ...settings,
      authorities: { le: { directory: 'https://acme.example/dir', account_key_secret: 'MISSING_KEY' } },
    };
    expect(deviceBoundaryFindings(device({}), undeclared, route)).toEqual([]);
    const bound: Settings = {
      ...settings,
      secrets: { ...settings.secrets, LE_KEY: { purpose: 'acme_account', data_centers: ['sfo1'] } },
    };
    expect(deviceBoundaryFindings(device({}), bound, route)).toEqual([
      {
        severity: 'error',
        path: ['certificate_authority'],
        message: 'authority "le": the secret LE_KEY is bound to data center sfo1, not ams2',
        at: 'value',
      },
    ]);
  });

  it('an undeclared connection secret is refused at the device (it is the device file that names it)', () => {
    expect(
      deviceBoundaryFindings(device({ connection: { credentials: 'NOPE' } }), settings, route).map((f) =>
        f.path.join('.'),
      ),
    ).toEqual(['connection.credentials']);
  });

  it("a malformed name is left to the name's own check, not reported twice", () => {
    expect(
      deviceBoundaryFindings(
        device({ common_name: 'APP.evil.org', subject_alternative_names: ['*.*.evil.org', 'x.evil.org'] }),
        settings,
        route,
      ).map((f) => f.path),
    ).toEqual([['subject_alternative_names', 1]]);
  });

  it('ip_address: outside the networks is refused, inside accepted, across IPv4 and IPv6', () => {
    const at = (ip: string) =>
      deviceBoundaryFindings(device({ ip_address: ip }), settings, route).map((f) => f.path.join('.'));
    expect(at('198.51.100.0')).toEqual([]);
    expect(at('198.51.100.255')).toEqual([]);
    expect(at('2001:db8:a:ffff::1')).toEqual([]);
    expect(at('198.51.99.255')).toEqual(['ip_address']);
    expect(at('2001:db8:b::1')).toEqual(['ip_address']);
    expect(at('::ffff:203.0.113.1')).toEqual(['ip_address']);
  });

  it('an ip_address that is not an address is left to its own check; no address, no check', () => {
    expect(deviceBoundaryFindings(device({ ip_address: 'evil.example.org' }), settings, route)).toEqual([]);
    expect(
      deviceBoundaryFindings(device({ connection: { credentials: 'SHARED' } }), settings, route),
    ).toEqual([]);
  });

  it('settings without networks bind no address', () => {
    const open = without(settings, 'networks');
    expect(deviceBoundaryFindings(device({ ip_address: '203.0.113.1' }), open, route)).toEqual([]);
    expect(
      deviceBoundaryFindings(
        device({ ip_address: '203.0.113.1', data_center: 'sfo1', common_name: 'a.mgmt.example.com' }),
        settings,
        route,
      ),
    ).toEqual([]);
  });

  it('an invalid block in networks grants nothing, and the valid ones still do', () => {
    const s: Settings = { ...settings, networks: { ams2: ['not-a-block', '192.0.2.0/33', '10.1.0.0/16'] } };
    const at = (ip: string) =>
      deviceBoundaryFindings(device({ ip_address: ip }), s, route).map((f) => f.path.join('.'));
    expect(at('10.1.2.3')).toEqual([]);
    expect(at('192.0.2.1')).toEqual(['ip_address']);
    expect(at('10.2.0.1')).toEqual(['ip_address']);
  });

  it('two data centers whose block lists differ are never confused, even when their texts run together', () => {
    // Joined without a separator both lists read "10.0.0.0/11.0.0.0/8".
    const s: Settings = {
      ...settings,
      runners: { by_data_center: { wide: ['w'], narrow: ['n'] } },
      names: { wide: { suffixes: ['example.org'] }, narrow: { suffixes: ['example.org'] } },
      networks: { wide: ['10.0.0.0/1', '1.0.0.0/8'], narrow: ['10.0.0.0/11', '.0.0.0/8'] },
    };
    const at = (dc: string, ip: string) =>
      deviceBoundaryFindings(
        device({ data_center: dc, common_name: 'a.example.org', ip_address: ip }),
        s,
        undefined,
      ).map((f) => f.path.join('.'));
    expect(at('wide', '100.0.0.1')).toEqual([]);
    expect(at('narrow', '100.0.0.1')).toEqual(['ip_address']);
    expect(at('narrow', '10.0.0.1')).toEqual([]);
    expect(at('wide', '200.0.0.1')).toEqual(['ip_address']);
  });

  it('an SSM tag: the key must match even where any value is allowed; none declared, none allowed', () => {
    const tag = (key: string, value: string, s = settings) =>
      deviceBoundaryFindings(device({ connection: { instance_tag: { key, value } } }), s, route).map(
        (f) => f.message,
      );
    expect(tag('ottr:target', 'anything')).toEqual([]);
    expect(tag('Name', 'web-1')).toEqual([]);
    expect(tag('ottr:other', 'anything')).toEqual([
      'tag ottr:other=anything is not one data center ams2 may target (ssm.instance_tags.ams2: ottr:target=*, Name=web-1)',
    ]);
    expect(tag('name', 'web-1')).toHaveLength(1);
    const noSsm = without(settings, 'ssm');
    expect(tag('ottr:target', 'x', noSsm)).toEqual([
      'data center ams2 may target no instance by tag: declare the tag in ssm.instance_tags.ams2 of routing/settings.yaml',
    ]);
    expect(tag('ottr:target', 'x', { ...settings, ssm: {} })).toHaveLength(1);
  });
  it('a data center named like an inherited key binds no address and gets its runner error', () => {
    expect(
      deviceBoundaryFindings(
        device({ data_center: 'constructor', common_name: 'a.ams2.example.com', ip_address: '203.0.113.1' }),
        settings,
        route,
      ).map((f) => f.path.join('.')),
    ).toEqual(['data_center', 'common_name']);
  });

  // `data_center: constructor` (or __proto__, toString) with an instance_tag once made the check throw
  // "allowed.some is not a function" instead of reporting a finding at the field.
  it('an inherited key as data center with an SSM tag is a finding, not a TypeError', () => {
    expect(
      deviceBoundaryFindings(
        device({
          data_center: 'constructor',
          connection: { instance_tag: { key: 'ottr:target', value: 'x' } },
        }),
        settings,
        route,
      ).map((f) => f.path.join('.')),
    ).toContain('connection.instance_tag');
  });
});

describe('parseCidr', () => {
  it('the edges of the prefix: 0 and the full length are blocks, one more is not', () => {
    expect(parseCidr('0.0.0.0/0')).toEqual({ address: '0.0.0.0', prefix: 0, family: 'ipv4' });
    expect(parseCidr('192.0.2.1/32')).toEqual({ address: '192.0.2.1', prefix: 32, family: 'ipv4' });
    expect(parseCidr('::/0')).toEqual({ address: '::', prefix: 0, family: 'ipv6' });
    expect(parseCidr('2001:db8::1/128')).toEqual({ address: '2001:db8::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr('2001:db8::/64')).toEqual({ address: '2001:db8::', prefix: 64, family: 'ipv6' });
    expect(parseCidr('2001:db8::/33')).toEqual({ address: '2001:db8::', prefix: 33, family: 'ipv6' });
  });

  it('refuses negative, fractional and out-of-range prefixes and non-addresses', () => {
    for (const bad of [
      '192.0.2.0/-1',
      '192.0.2.0/24.5',
      '192.0.2.0/NaN',
      '192.0.2.0/Infinity',
      '2001:db8::/-8',
      '10.0.0.0/24/8',
      '',
      '/',
      '24',
      '192.0.2.0/24 10.0.0.0',
      'example.org/8',
    ])
      expect(parseCidr(bad), bad).toBeUndefined();
  });

  it('the last slash separates the prefix', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  });

  // Number('') is 0: a block with an empty prefix once read as /0, the whole address space, so a typo
  // `10.0.0.0/` in networks.<dc> let every device of <dc> point its credential at any IPv4 address.
  it('refuses a block with an empty prefix, or a prefix Number() would read (hex, exponent, sign)', () => {
    for (const block of ['10.0.0.0/', '10.0.0.0/ ', '10.0.0.0/0x18', '10.0.0.0/1e1', '10.0.0.0/+8'])
      expect(parseCidr(block), block).toBeUndefined();
  });
});

describe('settingsSecretUses', () => {
  it('every secret settings name, with its field and purpose', () => {
    const s: Settings = {
      ...settings,
      authorities: {
        le: { directory: 'https://acme.example/dir', account_key_secret: 'LE_KEY' },
        zs: {
          directory: 'https://zs.example/dir',
          account_key_secret: 'ZS_KEY',
          eab: { kid_secret: 'ZS_KID', hmac_secret: 'ZS_HMAC' },
        },
      },
      notifications: { slack_webhook_secret: 'SLACK' },
      events: { webhook_url_secret: 'EV_URL', webhook_signing_secret: 'EV_SIG' },
    };
    expect(settingsSecretUses(s)).toEqual([
      { name: 'LE_KEY', path: ['authorities', 'le', 'account_key_secret'], purpose: 'acme_account' },
      { name: 'ZS_KEY', path: ['authorities', 'zs', 'account_key_secret'], purpose: 'acme_account' },
      { name: 'ZS_KID', path: ['authorities', 'zs', 'eab', 'kid_secret'], purpose: 'eab' },
      { name: 'ZS_HMAC', path: ['authorities', 'zs', 'eab', 'hmac_secret'], purpose: 'eab' },
      { name: 'SLACK', path: ['notifications', 'slack_webhook_secret'], purpose: 'notification' },
      { name: 'EV_URL', path: ['events', 'webhook_url_secret'], purpose: 'events' },
      { name: 'EV_SIG', path: ['events', 'webhook_signing_secret'], purpose: 'events' },
    ]);
    expect(
      settingsSecretUses({
        ...settings,
        notifications: { github_issues: true },
        events: { repository_dispatch: true },
      }),
    ).toEqual([
      { name: 'LE_KEY', path: ['authorities', 'le', 'account_key_secret'], purpose: 'acme_account' },
    ]);
    expect(
      settingsSecretUses({ ...settings, events: { webhook_signing_secret: 'EV_SIG' } }).map((u) => u.name),
    ).toEqual(['LE_KEY', 'EV_SIG']);
  });
});

// The fixture's "Example.NET." tests case-insensitive matching; settings.yaml itself must spell suffixes lowercase.
const clean: Settings = {
  ...settings,
  names: { ...settings.names, sfo1: { suffixes: ['mgmt.example.com', 'example.net.'] } },
};

describe('settingsBoundaryFindings', () => {
  it('the fixture settings are clean', () => {
    expect(settingsBoundaryFindings(clean)).toEqual([]);
  });

  it('a secret settings name with the wrong purpose, or undeclared, is refused at its field', () => {
    const s: Settings = {
      ...clean,
      notifications: { slack_webhook_secret: 'LE_KEY' },
      events: { webhook_url_secret: 'SLACK', webhook_signing_secret: 'EV_SIG' },
    };
    expect(settingsBoundaryFindings(s)).toEqual([
      {
        severity: 'error',
        path: ['notifications', 'slack_webhook_secret'],
        message:
          'the secret LE_KEY is declared as an ACME account key (purpose acme_account), not a notification secret',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['events', 'webhook_url_secret'],
        message:
          'the secret SLACK is declared as a notification secret (purpose notification), not an events secret',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['events', 'webhook_signing_secret'],
        message:
          'the secret EV_SIG is not declared in routing/settings.yaml secrets; only declared secrets can be used',
        at: 'value',
      },
    ]);
  });

  it('an account key bound to some data centers is no problem at settings level', () => {
    const s: Settings = {
      ...clean,
      secrets: { ...clean.secrets, LE_KEY: { purpose: 'acme_account', data_centers: ['sfo1'] } },
    };
    expect(settingsBoundaryFindings(s)).toEqual([]);
  });

  it('declarations: unbound credentials, platforms/routes off credentials, report secrets in data centers', () => {
    const s: Settings = {
      ...clean,
      secrets: {
        LE_KEY: { purpose: 'acme_account', data_centers: ['ams2'] },
        LOOSE: { purpose: 'device_credential' },
        EAB_P: { purpose: 'eab', data_centers: ['sfo1'], platforms: ['panos'], routes: ['web'] },
        N: { purpose: 'notification', data_centers: ['sfo1'] },
        E: { purpose: 'events', data_centers: ['sfo1'] },
        G: { purpose: 'github_app', data_centers: ['sfo1'] },
        OK: { purpose: 'device_credential', data_centers: ['sfo1'], platforms: ['panos'], routes: ['web'] },
        TYPO: { purpose: 'device_credential', data_centers: ['sfo1', 'sfo2'] },
      },
    };
    expect(settingsBoundaryFindings(s)).toEqual([
      {
        severity: 'error',
        path: ['secrets', 'LOOSE'],
        message: 'a device credential must be bound to its data centers (data_centers: [...])',
      },
      {
        severity: 'error',
        path: ['secrets', 'EAB_P', 'platforms'],
        message: 'applies to device credentials only (purpose device_credential)',
      },
      {
        severity: 'error',
        path: ['secrets', 'EAB_P', 'routes'],
        message: 'applies to device credentials only (purpose device_credential)',
      },
      {
        severity: 'error',
        path: ['secrets', 'N', 'data_centers'],
        message: 'a notification secret goes to the report job only, never to a data center',
      },
      {
        severity: 'error',
        path: ['secrets', 'E', 'data_centers'],
        message: 'a events secret goes to the report job only, never to a data center',
      },
      {
        severity: 'error',
        path: ['secrets', 'G', 'data_centers'],
        message: 'a github_app secret goes to the report job only, never to a data center',
      },
      {
        severity: 'warning',
        path: ['secrets', 'TYPO', 'data_centers', 1],
        message: '"sfo2" is not a data center of runners.by_data_center',
      },
    ]);
  });

  it('report secrets without data_centers, and platforms on a credential only, are clean', () => {
    const s: Settings = {
      ...clean,
      secrets: {
        LE_KEY: { purpose: 'acme_account' },
        N: { purpose: 'notification' },
        E: { purpose: 'events' },
        G: { purpose: 'github_app' },
        K: { purpose: 'eab', data_centers: ['ams2'] },
        P: { purpose: 'acme_account', routes: ['web'] },
      },
    };
    expect(settingsBoundaryFindings(s).map((f) => f.path.join('.'))).toEqual(['secrets.P.routes']);
  });

  it('without runners.by_data_center every bound data center is unknown; without secrets nothing to check', () => {
    const s: Settings = { ...clean, runners: { default: ['r'] } };
    expect(settingsBoundaryFindings(s).map((f) => [f.severity, f.path.join('.')])).toEqual([
      ['warning', 'secrets.FW_SFO1.data_centers.0'],
      ['warning', 'secrets.WEB_SFO1.data_centers.0'],
      ['warning', 'secrets.SHARED.data_centers.0'],
      ['warning', 'secrets.SHARED.data_centers.1'],
    ]);
    const bare = without(clean, 'secrets');
    expect(settingsBoundaryFindings(bare).map((f) => f.path.join('.'))).toEqual([
      'authorities.le.account_key_secret',
    ]);
  });

  it('name suffixes: a wildcard or an invalid name is refused; a trailing dot is allowed', () => {
    const s: Settings = {
      ...clean,
      names: {
        sfo1: {
          suffixes: ['mgmt.example.com.', '*.example.com', 'Upper.example.com', 'com', 'a..example.com'],
        },
      },
    };
    expect(settingsBoundaryFindings(s)).toEqual([
      {
        severity: 'error',
        path: ['names', 'sfo1', 'suffixes', 1],
        message: '"*.example.com" must be a name, not a wildcard (wildcards: true allows them)',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['names', 'sfo1', 'suffixes', 2],
        message: '"Upper.example.com" must be lowercase ("upper.example.com")',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['names', 'sfo1', 'suffixes', 3],
        message: '"com" must be a fully qualified name with at least two labels',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['names', 'sfo1', 'suffixes', 4],
        message: '"a..example.com" has an empty label (two dots in a row)',
        at: 'value',
      },
    ]);
  });

  it('a suffix with a leading "*" that is also invalid reports the name problem', () => {
    const s: Settings = { ...clean, names: { sfo1: { suffixes: ['*example.com'] } } };
    expect(settingsBoundaryFindings(s).map((f) => f.message)).toEqual([
      '"*example.com" label "*example" holds a partial wildcard; only a whole leftmost "*" label is allowed',
    ]);
  });

  it('networks: every block must be a CIDR block, at its index', () => {
    const s: Settings = { ...clean, networks: { ams2: ['198.51.100.0/24', '198.51.100.7', '10.0.0.0/40'] } };
    expect(settingsBoundaryFindings(s)).toEqual([
      {
        severity: 'error',
        path: ['networks', 'ams2', 1],
        message: '"198.51.100.7" is not a CIDR block (e.g. 192.0.2.0/24 or 2001:db8::/32)',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['networks', 'ams2', 2],
        message: '"10.0.0.0/40" is not a CIDR block (e.g. 192.0.2.0/24 or 2001:db8::/32)',
        at: 'value',
      },
    ]);
  });

  it('management_trust: only known authorities with their own roots_file', () => {
    const s: Settings = {
      ...clean,
      authorities: {
        ...clean.authorities,
        corp: {
          directory: 'https://corp.example/dir',
          account_key_secret: 'LE_KEY',
          roots_file: 'roots/corp.pem',
        },
      },
      management_trust: { authorities: ['corp', 'le', 'nope', 'constructor'] },
    };
    expect(settingsBoundaryFindings(s)).toEqual([
      {
        severity: 'error',
        path: ['management_trust', 'authorities', 1],
        message:
          'authority "le" has no roots_file; management trust needs the authority\'s roots named, never the public bundle',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['management_trust', 'authorities', 2],
        message: '"nope" is not an authority in routing/settings.yaml',
        at: 'value',
      },
      {
        severity: 'error',
        path: ['management_trust', 'authorities', 3],
        message: '"constructor" is not an authority in routing/settings.yaml',
        at: 'value',
      },
    ]);
    expect(settingsBoundaryFindings({ ...clean, management_trust: { roots_files: ['r.pem'] } })).toEqual([]);
  });
});
