import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Device } from '../../src/model/types.ts';
import { instanceCandidate, type ManagedInstance, ssmPlanOptions } from '../../src/sync/aws-ssm.ts';
import { CsvSyntaxError, csvRows, parseCsv } from '../../src/sync/csv.ts';
import { filePlanOptions, parseExport, rowCandidate } from '../../src/sync/export-file.ts';
import { editDeviceText } from '../../src/sync/proposed-files.ts';
import { type InventoryDevice, planSync, SOURCE_LABEL } from '../../src/sync/sync-plan.ts';
import { PROJECT_ROOT } from '../helpers/cli.ts';

const MAPPING = { tagPrefix: 'ottr:', region: 'eu-west-1' };

function instance(
  id: string,
  tags: Record<string, string>,
  extra: Partial<ManagedInstance> = {},
): ManagedInstance {
  return { id, pingStatus: 'Online', platformVersion: '2023', tags, ...extra };
}

const TAGGED = {
  'ottr:common_name': 'App3.Example.com.',
  'ottr:data_center': 'AMS2',
  'ottr:certificate_authority': 'lets_encrypt',
  'ottr:san': 'www.app3.example.com, app3.example.com',
  'ottr:owner': 'app-team@example.com',
  Name: 'app3',
};

function existing(file: string, device: Partial<Device>): InventoryDevice {
  return {
    file,
    device: {
      system_name: file.split('/').pop()!.replace('.yaml', ''),
      common_name: 'x.example.com',
      host_platform: 'linux',
      os_version: '2023',
      data_center: file.split('/')[1]!,
      certificate_authority: 'lets_encrypt',
      ...device,
    } as Device,
  };
}

describe('SSM instances → candidates', () => {
  it('maps tags, platform version and instance id to a new device', () => {
    const candidate = instanceCandidate(instance('i-0123456789abcdef0', TAGGED), MAPPING);
    expect(candidate.missing).toEqual([]);
    expect(candidate.fields).toEqual({
      system_name: 'app3',
      common_name: 'app3.example.com',
      subject_alternative_names: ['www.app3.example.com'],
      host_platform: 'linux',
      os_version: '2023',
      device_model: 'ec2',
      data_center: 'ams2',
      certificate_authority: 'lets_encrypt',
      connection: { instance_id: 'i-0123456789abcdef0', region: 'eu-west-1' },
      owner: 'app-team@example.com',
    });
    expect(candidate.owned.map((p) => p.join('.')).sort()).toEqual([
      'certificate_authority',
      'common_name',
      'data_center',
      'owner',
      'subject_alternative_names',
    ]);
  });

  it('names the missing tags, honours the prefix and marks lost instances', () => {
    const bare = instanceCandidate(instance('i-0aaaaaaaaaaaaaaa1', { Name: 'web' }), MAPPING);
    expect(bare.missing).toEqual([
      'tag ottr:common_name',
      'tag ottr:data_center',
      'tag ottr:certificate_authority',
    ]);
    const prefixed = instanceCandidate(
      instance('i-0aaaaaaaaaaaaaaa2', { 'pki/common_name': 'a.example.com', 'pki/system_name': 'Alpha' }),
      { tagPrefix: 'pki/' },
    );
    expect(prefixed.fields.common_name).toBe('a.example.com');
    expect(prefixed.fields.system_name).toBe('alpha');
    expect(prefixed.identity.system_name).toBe('alpha');
    const lost = instanceCandidate(
      instance('i-0aaaaaaaaaaaaaaa3', TAGGED, { pingStatus: 'ConnectionLost' }),
      MAPPING,
    );
    expect(lost.gone).toBe('is ConnectionLost in SSM');
  });
});

describe('planSync', () => {
  const inventory = [
    existing('inventory/ams2/app-ams2-01.yaml', {
      common_name: 'app.example.com',
      owner: 'old-team@example.com',
      connection: { instance_id: 'i-0a1b2c3d4e5f60718', region: 'eu-west-1' },
    }),
    existing('inventory/ams2/app-ams2-02.yaml', {
      common_name: 'app2.example.com',
      connection: { instance_tag: { key: 'ottr:common_name', value: 'app2.example.com' } },
    }),
    existing('inventory/ams2/gone-ams2-01.yaml', {
      common_name: 'gone.example.com',
      connection: { instance_id: 'i-0deadbeefdeadbeef', region: 'eu-west-1' },
    }),
    existing('inventory/ams2/far-away.yaml', {
      common_name: 'far.example.com',
      connection: { instance_id: 'i-0feedfacefeedface', region: 'us-east-1' },
    }),
  ];
  const tags = (cn: string, owner?: string) => ({
    'ottr:common_name': cn,
    'ottr:data_center': 'ams2',
    'ottr:certificate_authority': 'lets_encrypt',
    ...(owner ? { 'ottr:owner': owner } : {}),
  });

  it('sorts candidates into new, updated (owned fields only), unchanged, skipped and vanished', () => {
    const candidates = [
      instance('i-0123456789abcdef0', tags('app3.example.com')),
      instance('i-0a1b2c3d4e5f60718', tags('app.example.com', 'app-team@example.com')),
      instance('i-0bbbbbbbbbbbbbbbb', tags('app2.example.com')),
      instance('i-0ccccccccccccccc1', { 'ottr:common_name': 'half.example.com' }),
    ].map((i) => instanceCandidate(i, MAPPING));
    const plan = planSync(candidates, inventory, ssmPlanOptions('eu-west-1'));
    expect(plan.created.map((c) => c.device.system_name)).toEqual(['app3']);
    expect(plan.created[0]!.device.labels).toEqual({ [SOURCE_LABEL]: 'aws-ssm' });
    expect(plan.updated).toHaveLength(2);
    const [owner, adopted] = plan.updated;
    expect(owner!.file).toBe('inventory/ams2/app-ams2-01.yaml');
    expect(owner!.changes).toEqual([
      { field: 'owner', from: 'old-team@example.com', to: 'app-team@example.com' },
      { field: `labels.${SOURCE_LABEL}`, from: undefined, to: 'aws-ssm' },
    ]);
    // Matched by common name: the tag-addressed device keeps its connection, only the label is new.
    expect(adopted!.file).toBe('inventory/ams2/app-ams2-02.yaml');
    expect(adopted!.changes.map((c) => c.field)).toEqual([`labels.${SOURCE_LABEL}`]);
    expect(adopted!.device.connection).toEqual({
      instance_tag: { key: 'ottr:common_name', value: 'app2.example.com' },
    });
    expect(plan.skipped).toEqual([
      {
        ref: 'i-0ccccccccccccccc1',
        reason: 'missing tag ottr:data_center, tag ottr:certificate_authority',
      },
    ]);
    // Another region's device is not SSM-in-this-region's to report.
    expect(plan.vanished).toEqual([
      {
        file: 'inventory/ams2/gone-ams2-01.yaml',
        system_name: 'gone-ams2-01',
        reason: 'instance i-0deadbeefdeadbeef is no longer managed by SSM in eu-west-1',
      },
    ]);
  });

  it('a second pass over the result is unchanged; a lost instance is vanished, never removed', () => {
    const first = planSync(
      [instanceCandidate(instance('i-0a1b2c3d4e5f60718', tags('app.example.com')), MAPPING)],
      inventory.slice(0, 1),
      ssmPlanOptions('eu-west-1'),
    );
    const after = [{ file: first.updated[0]!.file, device: first.updated[0]!.device }];
    const second = planSync(
      [instanceCandidate(instance('i-0a1b2c3d4e5f60718', tags('app.example.com')), MAPPING)],
      after,
      ssmPlanOptions('eu-west-1'),
    );
    expect(second.unchanged).toEqual([
      { ref: 'i-0a1b2c3d4e5f60718', file: 'inventory/ams2/app-ams2-01.yaml' },
    ]);
    const lost = planSync(
      [
        instanceCandidate(
          instance('i-0a1b2c3d4e5f60718', tags('app.example.com'), { pingStatus: 'ConnectionLost' }),
          MAPPING,
        ),
      ],
      after,
      ssmPlanOptions('eu-west-1'),
    );
    expect(lost.vanished).toEqual([
      {
        file: 'inventory/ams2/app-ams2-01.yaml',
        system_name: 'app-ams2-01',
        reason: 'i-0a1b2c3d4e5f60718 is ConnectionLost in SSM',
      },
    ]);
    expect(lost.updated).toEqual([]);
  });

  it('never moves a device to another data center and refuses ambiguous or conflicting matches', () => {
    const moved = planSync(
      [
        instanceCandidate(
          instance('i-0a1b2c3d4e5f60718', { ...tags('app.example.com'), 'ottr:data_center': 'sfo1' }),
          MAPPING,
        ),
      ],
      inventory,
      ssmPlanOptions('eu-west-1'),
    );
    expect(moved.skipped[0]!.reason).toMatch(
      /is in data center ams2 but the source says sfo1; move the file by hand/,
    );
    const conflict = planSync(
      [instanceCandidate(instance('i-0999999999999999a', tags('gone.example.com')), MAPPING)],
      inventory,
      ssmPlanOptions('eu-west-1'),
    );
    expect(conflict.skipped[0]!.reason).toBe(
      'common_name gone.example.com belongs to inventory/ams2/gone-ams2-01.yaml, which names instance i-0deadbeefdeadbeef',
    );
  });
});

describe('CSV', () => {
  it('reads quoted fields with commas, quotes and line breaks, a BOM and CRLF line ends', () => {
    const text = '\uFEFFname,owner,note\r\na,"Ops, Team","say ""hi"""\r\n\r\nb,x,"two\r\nlines"\r\n';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['name', 'owner', 'note'] },
      { line: 2, fields: ['a', 'Ops, Team', 'say "hi"'] },
      { line: 4, fields: ['b', 'x', 'two\r\nlines'] },
    ]);
    expect(csvRows('h1,h2\nv1\n')).toEqual([{ line: 2, values: { h1: 'v1', h2: '' } }]);
    expect(csvRows('h\n""\n')).toEqual([{ line: 2, values: { h: '' } }]);
  });

  it('reports broken CSV with its line', () => {
    expect(() => parseCsv('a,b\n"open,c\n')).toThrow(new CsvSyntaxError(2, 'a quoted field is not closed'));
    expect(() => parseCsv('a,b\nx"y,c\n')).toThrow(/line 2: a quote inside an unquoted field/);
    expect(() => csvRows('a\n1,2\n')).toThrow(/line 2: 2 fields, but the header names 1 columns/);
  });
});

describe('CMDB export rows → candidates', () => {
  const csv = readFileSync(join(PROJECT_ROOT, 'test/fixtures/sync/cmdb.csv'), 'utf8');

  it('maps the common column aliases and normalises platform and authority names', () => {
    const [firewall, balancer, console] = parseExport(csv, 'csv').map(rowCandidate);
    expect(firewall!.ref).toBe('line 2 (fw-sfo1-03)');
    expect(firewall!.missing).toEqual([]);
    expect(firewall!.fields).toEqual({
      system_name: 'fw-sfo1-03',
      common_name: 'fw-sfo1-03.mgmt.example.com',
      host_platform: 'panos',
      os_version: '10.2.4',
      device_model: 'PA-3220',
      data_center: 'sfo1',
      ip_address: '192.0.2.13',
      certificate_authority: 'lets_encrypt',
      owner: 'Network Ops, Firewalls',
      connection: { credentials: 'PANOS_SFO1_API_KEY' },
    });
    expect(balancer!.fields.host_platform).toBe('f5');
    expect(balancer!.owned.map((p) => p.join('.'))).not.toContain('connection.credentials');
    expect(console!.missing).toEqual(['common_name (column common_name or fqdn or dns_name)']);
  });

  it('JSON exports give the same candidates as CSV ones', () => {
    const json = readFileSync(join(PROJECT_ROOT, 'test/fixtures/sync/cmdb.json'), 'utf8');
    const fromJson = parseExport(json, 'json').map(rowCandidate);
    const fromCsv = parseExport(csv, 'csv').map(rowCandidate);
    expect(fromJson.map((c) => c.fields)).toEqual(fromCsv.map((c) => c.fields));
    expect(() => parseExport('{"hosts": 1}', 'json')).toThrow(/neither a JSON array/);
  });

  it('only devices labelled with the source are reported vanished from it', () => {
    const labelled = existing('inventory/sfo1/old-sfo1-01.yaml', { labels: { [SOURCE_LABEL]: 'cmdb' } });
    const otherSource = existing('inventory/sfo1/old-sfo1-02.yaml', { labels: { [SOURCE_LABEL]: 'netbox' } });
    const unlabelled = existing('inventory/sfo1/hand-made.yaml', {});
    const plan = planSync(
      parseExport(csv, 'csv').map(rowCandidate),
      [labelled, otherSource, unlabelled],
      filePlanOptions('cmdb'),
    );
    expect(plan.vanished).toEqual([
      {
        file: 'inventory/sfo1/old-sfo1-01.yaml',
        system_name: 'old-sfo1-01',
        reason: 'no longer in the cmdb export',
      },
    ]);
    expect(plan.created.map((c) => c.device.system_name)).toEqual(['fw-sfo1-03', 'lb-sfo1-01']);
  });

  it('rejects values that cannot become a file or a port', () => {
    const [row] = parseExport('hostname,port,certificate_validation\nBad Name!,99999,maybe\n', 'csv').map(
      rowCandidate,
    );
    expect(row!.invalid).toEqual([
      'port "99999" is not a port number',
      'certificate_validation "maybe" is not true or false',
      'system_name "bad name!" cannot be a file name ([a-z0-9][a-z0-9._-]{0,62})',
    ]);
  });
});

describe('editing an existing device file', () => {
  it('changing only existing scalars changes only their bytes', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'inventory/sfo1/lb-sfo1-01.yaml'), 'utf8');
    const edited = editDeviceText(text, { os_version: '17.1.2', owner: 'platform@example.com' }, [
      ['os_version'],
      ['owner'],
    ]);
    const expected = text
      .replace('os_version: "16.1.3"', 'os_version: "17.1.2"')
      .replace('owner: web-platform@example.com', 'owner: platform@example.com');
    expect(expected).not.toBe(text);
    expect(edited).toBe(expected);
  });

  it('changes only the given fields and keeps every comment and the quoting', async () => {
    const text = readFileSync(join(PROJECT_ROOT, 'inventory/sfo1/fw-sfo1-01.yaml'), 'utf8');
    const edited = editDeviceText(text, { os_version: '10.2.9', labels: { [SOURCE_LABEL]: 'cmdb' } }, [
      ['os_version'],
      ['labels', SOURCE_LABEL],
    ]);
    expect(edited).toContain('os_version: "10.2.9" # always quoted: 10.2 unquoted would be a number');
    expect(edited).toContain("system_name: fw-sfo1-01 # unique; equals this file's name");
    expect(edited).toMatch(/labels:\n(.*\n)*\s+ottr\/source: cmdb/);
    const comments = (t: string) => [...t.matchAll(/#.*$/gm)].map((m) => m[0]);
    expect(comments(edited)).toEqual(comments(text));
    const { parse } = await import('yaml');
    const { os_version: _a, labels: _b, ...rest } = parse(edited);
    const { os_version: _c, ...before } = parse(text);
    expect(rest).toEqual(before);
  });
});
