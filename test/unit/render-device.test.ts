import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderDeviceYaml } from '../../src/model/render-device.ts';
import type { Device } from '../../src/model/types.ts';

const SCHEMA_LINE = '# yaml-language-server: $schema=../../schemas/device.schema.json\n';

const devices: Device[] = [
  {
    system_name: 'fw1',
    common_name: 'fw1.example.com',
    subject_alternative_names: ['*.app.example.com', 'yes.example.com'],
    host_platform: 'panos',
    os_version: '10.2',
    device_model: 'PA-3220',
    data_center: 'sfo1',
    ip_address: '10.1.0.1',
    certificate_authority: 'lets_encrypt',
    connection: { credentials: 'PANOS_API_KEY', port: 443 },
    labels: { rack: '0123', flag: 'yes', on: 'off', empty: '', time: '12:30', hex: '0x1F', n: 'y' },
    certificate: {
      not_after: '2026-01-01T00:00:00Z',
      not_before: '2025-10-03T00:00:00Z',
      serial: '0123',
      issuer: "Let's Encrypt",
      sha256_fingerprint: '12:AB:00',
      rotated_at: '2025-10-03T00:01:02Z',
      renewal_window: { start: '2025-12-01T00:00:00Z', end: '2025-12-03T00:00:00Z' },
    },
  },
  {
    system_name: 'web1.ams2.example.com',
    common_name: 'web1.ams2.example.com',
    host_platform: 'linux',
    os_version: '12',
    data_center: 'ams2',
    ip_address: '2001:db8::1',
    certificate_authority: 'corp_ca',
    certificate_validation: false,
    owner: 'team: sre # on call',
    connection: {
      credentials: 'LINUX_SSH_KEY',
      passphrase_credentials: 'LINUX_SSH_PASSPHRASE',
      username: 'ottr',
      ssh_host_key: 'SHA256:q5mZ3VnY8sWk0pX2rL9tB4cD7fG1hJ6kM8nP0rS3uVw',
      sudo: true,
    },
  },
  {
    system_name: '0123',
    common_name: '*.no.example.com',
    subject_alternative_names: ['no.example.com', 'null.example.com'],
    host_platform: 'f5',
    os_version: '1e3',
    device_model: 'true',
    data_center: '2024',
    certificate_authority: 'null',
    owner: '- dash, [brackets] & {braces}: "quotes" \'single\' \\ back',
    labels: { 'app/tier': '~', version: '1.10' },
    certificate: { not_after: '2026-02-03' },
  },
  {
    system_name: 'app1',
    common_name: 'app1.example.com',
    host_platform: 'ubuntu',
    os_version: '20.04',
    data_center: 'ams2',
    certificate_authority: 'lets_encrypt',
    connection: {
      instance_tag: { key: 'Name', value: 'app1' },
      region: 'eu-west-1',
      tls_spki_sha256: `${'x'.repeat(43)}=`,
    },
  },
  {
    system_name: 'min',
    common_name: 'min.example.com',
    host_platform: 'lighthouse',
    os_version: '21.Q2.0',
    data_center: 'sfo1',
    certificate_authority: 'lets_encrypt',
  },
];

describe('renderDeviceYaml', () => {
  it.each(devices)('round-trips $system_name, with and without comments', (device) => {
    for (const comments of [false, true]) {
      const text = renderDeviceYaml(device, { comments });
      expect(text.startsWith(SCHEMA_LINE)).toBe(true);
      expect(parse(text)).toEqual(device);
      // YAML 1.2 core, as the repository loads it, and js-yaml (YAML 1.2) agree
      expect(parse(text, { schema: 'core' })).toEqual(device);
      expect(load(text)).toEqual(device);
      // a YAML 1.1 reader (PyYAML-like) reads the same strings too
      expect(parse(text, { version: '1.1' })).toEqual(device);
    }
  });

  it('always quotes versions, dates and serials', () => {
    const text = renderDeviceYaml(devices[0]!);
    expect(text).toContain('os_version: "10.2"');
    expect(text).toContain('not_after: "2026-01-01T00:00:00Z"');
    expect(text).toContain('start: "2025-12-01T00:00:00Z"');
    expect(text).toContain('serial: "0123"');
    expect(text).toContain('flag: "yes"');
    expect(renderDeviceYaml(devices[4]!)).toContain('os_version: "21.Q2.0"');
    expect(renderDeviceYaml(devices[2]!)).toContain('not_after: "2026-02-03"');
  });

  it('writes the fields in the order of the Device interface', () => {
    const text = renderDeviceYaml(devices[0]!, { comments: true });
    const keys = text
      .split('\n')
      .filter((l) => /^[a-z_]+:/.test(l))
      .map((l) => l.split(':')[0]);
    expect(keys).toEqual([
      'system_name',
      'common_name',
      'subject_alternative_names',
      'host_platform',
      'os_version',
      'device_model',
      'data_center',
      'ip_address',
      'certificate_authority',
      'connection',
      'labels',
      'certificate',
    ]);
  });

  it('explains the fields when asked, and only then', () => {
    const text = renderDeviceYaml(devices[1]!, { comments: true });
    expect(text).toMatch(/# how to reach the device; secrets appear here by NAME only\nconnection:/);
    expect(text).toMatch(
      / {2}# the NAME of a secret .*never the secret value itself\n {2}credentials: LINUX_SSH_KEY/,
    );
    expect(text).toMatch(/# pinned host key fingerprint .*\n {2}ssh_host_key:/);
    expect(text).toMatch(
      /# false: the current management certificate is not trusted yet.*\ncertificate_validation: false/,
    );
    expect(renderDeviceYaml(devices[0]!, { comments: true })).toMatch(
      /# written by automation after each rotation; do not edit by hand\ncertificate:/,
    );
    const plain = renderDeviceYaml(devices[1]!);
    expect(plain.split('\n').filter((l) => l.trimStart().startsWith('#'))).toEqual([SCHEMA_LINE.trim()]);
  });

  it('takes another schema path', () => {
    expect(renderDeviceYaml(devices[4]!, { schemaPath: '/abs/device.schema.json' })).toMatch(
      /^# yaml-language-server: \$schema=\/abs\/device\.schema\.json\n/,
    );
  });
});
