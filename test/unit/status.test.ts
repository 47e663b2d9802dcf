import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../src/repository/device-file.ts';
import { loadRepository, type Repository } from '../../src/repository/load.ts';
import { escapeHtml, jsonForScript, renderDashboard } from '../../src/status/dashboard.ts';
import { countStates, type FleetRow, fleetStatus, type StatusFilters } from '../../src/status/fleet.ts';
import { statusJson } from '../../src/status/json.ts';
import { statusMarkdown } from '../../src/status/markdown.ts';
import { escapeLabelValue, statusPrometheus } from '../../src/status/prometheus.ts';
import { statusText } from '../../src/status/text.ts';
import { DAY, HOUR } from '../../src/util/duration.ts';
import { makeRepo, PROJECT_ROOT, runCli, type TempRepo } from '../helpers/cli.ts';

const NOW_TEXT = '2026-11-23T06:00:00Z';
const NOW = new Date(NOW_TEXT);
const SAMPLE_DUE = ['fw-ams2-01', 'web-sfo1-01', 'fw-sfo1-01', 'app-ams2-01', 'lb-sfo1-01'];
const NO_COLOR = { NO_COLOR: '1' };
const XSS = '<img src=x onerror=alert(1)>';

let sample: Repository;
beforeAll(async () => {
  sample = await loadRepository(PROJECT_ROOT);
});

function status(filters: StatusFilters = {}) {
  return fleetStatus(sample.records, sample.settings, NOW, filters);
}
const names = (rows: readonly FleetRow[]) => rows.map((r) => r.system_name);
const row = (rows: readonly FleetRow[], name: string) => rows.find((r) => r.system_name === name)!;

describe('fleetStatus on the sample inventory', () => {
  it('gives every device a state, most urgent first, agreeing with the plan', () => {
    const s = status();
    expect(s.total).toBe(10);
    expect(s.rows).toHaveLength(10);
    expect(s.generated_at).toBe(NOW_TEXT);
    expect(names(s.rows).slice(0, 5)).toEqual(SAMPLE_DUE);
    expect(s.rows.slice(0, 5).every((r) => r.due)).toBe(true);
    expect(s.rows.slice(5).every((r) => r.state === 'ok' && !r.due)).toBe(true);
    expect(s.counts).toEqual({
      expired: 1,
      never_rotated: 1,
      due: 3,
      expiring: 0,
      ok: 5,
      invalid: 0,
      no_route: 0,
    });
    expect(row(s.rows, 'fw-ams2-01')).toMatchObject({ state: 'expired', days_left: -2.8 });
    expect(row(s.rows, 'fw-ams2-01').reason).toMatch(/^expired 2d 19h ago/);
    expect(row(s.rows, 'web-sfo1-01')).toMatchObject({ state: 'never_rotated', route: 'linux' });
    expect(row(s.rows, 'web-sfo1-01').not_after).toBeUndefined();
    expect(row(s.rows, 'lb-sfo1-01')).toMatchObject({
      state: 'due',
      renewal_start: '2026-11-20T00:00:00Z',
      not_after: '2026-12-27T18:02:10Z',
      rotated_at: '2026-09-28T19:02:20Z',
    });
    expect(row(s.rows, 'lb-sfo1-01').reason).toMatch(/ARI renewal window/);
    expect(row(s.rows, 'app-ams2-01')).toMatchObject({
      platform: 'linux',
      driver: 'linux-ssm',
      route: 'linux-aws',
      authority: 'lets_encrypt',
      data_center: 'ams2',
      file: 'inventory/ams2/app-ams2-01.yaml',
      days_left: 15.8,
    });
    // Sorted by days left after the expired and never-rotated devices.
    const days = s.rows.slice(2).map((r) => r.days_left!);
    expect([...days].sort((a, b) => a - b)).toEqual(days);
  });

  it('marks devices close to expiry but not due as expiring, within the window asked for', () => {
    const wide = status({ expiringWithinMs: 60 * DAY });
    expect(row(wide.rows, 'console-ams2-01').state).toBe('expiring');
    // The window is a filter too: a device without a certificate has nothing that expires.
    expect(names(wide.rows)).toEqual([...SAMPLE_DUE.filter((n) => n !== 'web-sfo1-01'), 'console-ams2-01']);
    // The default window is 14 days: app-ams2-01 (15.8 days left) is due, not merely expiring.
    const later = fleetStatus(sample.records, sample.settings, new Date('2027-01-30T00:00:00Z'));
    expect(row(later.rows, 'console-sfo1-01')).toMatchObject({ state: 'expiring', due: false });
  });

  it('filters by data center, platform or driver, due, expiry window and search, combined with AND', () => {
    expect(names(status({ dataCenter: 'ams2' }).rows).sort()).toEqual([
      'app-ams2-01',
      'app-ams2-02',
      'console-ams2-01',
      'fw-ams2-01',
      'lb-ams2-01',
    ]);
    expect(names(status({ platform: 'panos' }).rows)).toEqual(['fw-ams2-01', 'fw-sfo1-01', 'fw-sfo1-02']);
    expect(names(status({ platform: 'linux-ssm' }).rows)).toEqual(['app-ams2-01', 'app-ams2-02']);
    expect(names(status({ dueOnly: true }).rows)).toEqual(SAMPLE_DUE);
    expect(names(status({ expiringWithinMs: 14 * DAY }).rows)).toEqual(['fw-ams2-01', 'fw-sfo1-01']);
    expect(names(status({ expiringWithinMs: 36 * HOUR }).rows)).toEqual(['fw-ams2-01']);
    expect(names(status({ dataCenter: 'sfo1', dueOnly: true }).rows)).toEqual([
      'web-sfo1-01',
      'fw-sfo1-01',
      'lb-sfo1-01',
    ]);
    expect(names(status({ dataCenter: 'sfo1', platform: 'panos', dueOnly: true }).rows)).toEqual([
      'fw-sfo1-01',
    ]);
    const filtered = status({ dataCenter: 'ams2', dueOnly: true });
    expect(filtered.total).toBe(10);
    expect(filtered.counts).toMatchObject({ expired: 1, due: 1, ok: 0 });
  });

  it('searches system_name, common_name, SANs, owner and label values, case-insensitively', () => {
    expect(names(status({ search: 'APP-TEAM@example' }).rows).sort()).toEqual(['app-ams2-01', 'app-ams2-02']);
    expect(names(status({ search: 'api.example.com' }).rows)).toEqual(['lb-sfo1-01']); // a SAN
    expect(names(status({ search: 'status.example' }).rows)).toEqual(['web-sfo1-01']); // common_name
    expect(names(status({ search: 'ams2-r14' }).rows)).toEqual(['console-ams2-01']); // a label value
    expect(names(status({ search: 'FW-SFO1' }).rows)).toEqual(['fw-sfo1-01', 'fw-sfo1-02']);
    expect(names(status({ search: 'rack' }).rows)).toEqual([]); // label names are not searched
    expect(names(status({ search: 'netops', dataCenter: 'sfo1' }).rows)).toEqual([
      'fw-sfo1-01',
      'fw-sfo1-02',
      'console-sfo1-01',
    ]);
  });

  it('lists invalid files and devices without a route with their file and reason, last', async () => {
    const repo = makeRepo({ withSampleInventory: true });
    try {
      repo.write(
        'inventory/ams2/broken-ams2-01.yaml',
        '# yaml-language-server: $schema=../../schemas/device.schema.json\nsystem_name: broken-ams2-01\nhost_platform: panos\n',
      );
      const routed = readFileSync(join(PROJECT_ROOT, 'inventory/sfo1/fw-sfo1-02.yaml'), 'utf8');
      repo.write(
        'inventory/sfo1/switch-sfo1-01.yaml',
        routed.replaceAll('fw-sfo1-02', 'switch-sfo1-01').replace(/host_platform: .*/, 'host_platform: nxos'),
      );
      const loaded = await loadRepository(repo.root);
      const s = fleetStatus(loaded.records, loaded.settings, NOW);
      expect(s.rows).toHaveLength(12);
      expect(names(s.rows.slice(-2))).toEqual(['broken-ams2-01', 'switch-sfo1-01']);
      expect(row(s.rows, 'broken-ams2-01')).toMatchObject({
        state: 'invalid',
        file: 'inventory/ams2/broken-ams2-01.yaml',
        data_center: 'ams2',
        due: false,
      });
      expect(row(s.rows, 'broken-ams2-01').reason).toMatch(/common_name|required/);
      expect(row(s.rows, 'switch-sfo1-01')).toMatchObject({ state: 'no_route', data_center: 'sfo1' });
      expect(s.counts).toMatchObject({ invalid: 1, no_route: 1 });
      const text = statusText(s);
      expect(text).toMatch(/^\? {2}broken-ams2-01 +invalid .*inventory\/ams2\/broken-ams2-01\.yaml: /m);
      expect(text).toMatch(/^\? {2}switch-sfo1-01 +no route /m);
      // Their data center and platform filters still work; the due filter leaves them out.
      expect(names(fleetStatus(loaded.records, loaded.settings, NOW, { dataCenter: 'ams2' }).rows)).toContain(
        'broken-ams2-01',
      );
      expect(names(fleetStatus(loaded.records, loaded.settings, NOW, { dueOnly: true }).rows)).toEqual(
        SAMPLE_DUE,
      );
    } finally {
      repo.cleanup();
    }
  });

  it('is one pass over the records: a large inventory is reported quickly', () => {
    const base = sample.records.find((r) => r.system_name === 'fw-sfo1-02')!;
    const records: DeviceRecord[] = [];
    for (let i = 0; i < 10_000; i++) {
      const name = `fw-${i}`;
      records.push({ ...base, system_name: name, device: { ...base.device!, system_name: name } });
    }
    const started = performance.now();
    const s = fleetStatus(records, sample.settings, NOW, { search: 'fw-99' });
    expect(s.rows).toHaveLength(111);
    expect(statusPrometheus(fleetStatus(records, sample.settings, NOW)).length).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('text format', () => {
  it('is an aligned table, most urgent first, with markers and a line of counts', () => {
    const text = statusText(status());
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(`Fleet status at ${NOW_TEXT}`);
    const header = lines[2]!;
    expect(header).toMatch(/^ +DEVICE +STATE +DAYS LEFT +EXPIRES +RENEWS FROM +LAST ROTATION +DC +PLATFORM/);
    const body = lines.slice(3, 13);
    expect(body.map((l) => l.slice(3).split(/\s+/)[0])).toEqual(names(status().rows));
    expect(body[0]).toMatch(/^! {2}fw-ams2-01 +expired +-2\.8 +2026-11-20 /);
    expect(body[1]).toMatch(/^~ {2}web-sfo1-01 +never rotated /);
    expect(body.slice(2, 5).every((l) => l.startsWith('~'))).toBe(true);
    expect(body.slice(5).every((l) => l.startsWith('   '))).toBe(true);
    // Columns line up: STATE starts at the same offset on every line.
    const stateAt = header.indexOf('STATE');
    for (const line of body) expect(line.slice(stateAt)).toMatch(/^(expired|never|due|ok)/);
    expect(text).toContain(
      '10 devices: 1 expired, 1 never rotated, 3 due, 0 expiring within 14d, 5 ok, 0 invalid, 0 without route',
    );
    expect(text).not.toContain('\u001b[');
  });

  it('colours expired rows red and urgent ones yellow when asked', () => {
    const text = statusText(status({ expiringWithinMs: 60 * DAY }), { colour: true });
    const line = (name: string) => text.split('\n').find((l) => l.includes(` ${name} `))!;
    expect(line('fw-ams2-01').startsWith('\u001b[31m!  fw-ams2-01 ')).toBe(true);
    expect(line('fw-ams2-01').endsWith('\u001b[0m')).toBe(true);
    expect(line('console-ams2-01')).toMatch(/^.\[33m~ {2}console-ams2-01 +expiring .*.\[0m$/);
    expect(line('DEVICE')).not.toContain('\u001b');
    expect(text).toContain('5 of 10 devices shown: 1 expired, 0 never rotated, 3 due, 1 expiring within 60d');
  });

  it('says so when nothing matches', () => {
    expect(statusText(status({ search: 'no such thing' }))).toContain('No device matches the filters.');
  });
});

describe('json format', () => {
  it('has generated_at, counts and devices with ISO dates and numbers', () => {
    const doc = JSON.parse(statusJson(status()));
    expect(Object.keys(doc)).toEqual([
      'generated_at',
      'expiring_within',
      'inventory_devices',
      'counts',
      'devices',
    ]);
    expect(doc).toMatchObject({ generated_at: NOW_TEXT, expiring_within: '14d', inventory_devices: 10 });
    expect(doc.counts).toMatchObject({ expired: 1, never_rotated: 1, due: 3, ok: 5 });
    expect(doc.devices).toHaveLength(10);
    const expired = doc.devices[0];
    expect(expired).toMatchObject({
      system_name: 'fw-ams2-01',
      state: 'expired',
      due: true,
      not_after: '2026-11-20T11:29:59Z',
      not_before: '2026-08-22T11:30:00Z',
      data_center: 'ams2',
      platform: 'panos',
      route: 'panos-10',
    });
    expect(typeof expired.days_left).toBe('number');
    expect(expired.days_left).toBeLessThan(0);
    for (const device of doc.devices) {
      for (const key of ['not_after', 'not_before', 'renewal_start', 'rotated_at']) {
        if (device[key] !== undefined) expect(device[key]).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
      }
    }
  });
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the text exposition format: throws on anything it does not understand. */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (help) {
      expect(helped.has(help[1]!), `second HELP for ${help[1]}`).toBe(false);
      helped.add(help[1]!);
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      expect(types.has(type[1]!), `second TYPE for ${type[1]}`).toBe(false);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a metric line: ${JSON.stringify(line)}`);
    const name = sample[1]!;
    expect(types.has(name), `sample of ${name} before its TYPE`).toBe(true);
    const labels: Record<string, string> = {};
    const body = sample[2] ? sample[2].slice(1, -1) : '';
    let i = 0;
    while (i < body.length) {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(body.slice(i));
      if (!label) throw new Error(`bad label at ${i} in ${line}`);
      i += label[0].length;
      let value = '';
      for (;;) {
        const ch = body[i++];
        if (ch === undefined) throw new Error(`unterminated label value in ${line}`);
        if (ch === '"') break;
        if (ch === '\\') {
          const next = body[i++];
          if (next === 'n') value += '\n';
          else if (next === '\\' || next === '"') value += next;
          else throw new Error(`bad escape \\${next} in ${line}`);
        } else if (ch === '\n') throw new Error('raw newline in a label value');
        else value += ch;
      }
      expect(labels[label[1]!], `label ${label[1]} twice`).toBeUndefined();
      labels[label[1]!] = value;
      if (body[i] === ',') i++;
      else if (i !== body.length) throw new Error(`expected , after a label in ${line}`);
    }
    const value = Number(sample[3]);
    if (!Number.isFinite(value)) throw new Error(`bad value in ${line}`);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

describe('prometheus format', () => {
  const DEVICE_LABELS = ['system_name', 'data_center', 'platform', 'authority', 'route'];
  const METRICS = [
    'ottr_certificate_expiry_timestamp_seconds',
    'ottr_certificate_renewal_window_start_timestamp_seconds',
    'ottr_certificate_last_rotation_timestamp_seconds',
    'ottr_certificate_due',
    'ottr_device_state',
    'ottr_devices',
  ];

  it('parses: HELP and TYPE before the samples, the right names and labels, a sample only where a value exists', () => {
    const { types, samples } = parsePrometheus(statusPrometheus(status()));
    expect([...types.keys()]).toEqual(METRICS);
    expect([...types.values()].every((t) => t === 'gauge')).toBe(true);
    for (const sample of samples) {
      expect(METRICS).toContain(sample.name);
      const expected =
        sample.name === 'ottr_devices'
          ? ['state']
          : sample.name === 'ottr_device_state'
            ? [...DEVICE_LABELS, 'state']
            : DEVICE_LABELS;
      expect(Object.keys(sample.labels)).toEqual(expected);
    }
    const of = (name: string) => samples.filter((s) => s.name === name);
    const expiry = of('ottr_certificate_expiry_timestamp_seconds');
    expect(expiry).toHaveLength(9); // web-sfo1-01 has never been rotated: no sample
    expect(expiry.find((s) => s.labels.system_name === 'fw-ams2-01')).toEqual({
      name: 'ottr_certificate_expiry_timestamp_seconds',
      labels: {
        system_name: 'fw-ams2-01',
        data_center: 'ams2',
        platform: 'panos',
        authority: 'lets_encrypt',
        route: 'panos-10',
      },
      value: Date.parse('2026-11-20T11:29:59Z') / 1000,
    });
    expect(of('ottr_certificate_last_rotation_timestamp_seconds')).toHaveLength(9);
    const window = of('ottr_certificate_renewal_window_start_timestamp_seconds');
    expect(window.find((s) => s.labels.system_name === 'lb-sfo1-01')!.value).toBe(
      Date.parse('2026-11-20T00:00:00Z') / 1000,
    );
    const due = of('ottr_certificate_due');
    expect(due).toHaveLength(10);
    expect(
      due
        .filter((s) => s.value === 1)
        .map((s) => s.labels.system_name)
        .sort(),
    ).toEqual([...SAMPLE_DUE].sort());
    expect(Object.fromEntries(of('ottr_devices').map((s) => [s.labels.state, s.value]))).toEqual({
      expired: 1,
      never_rotated: 1,
      due: 3,
      expiring: 0,
      ok: 5,
      invalid: 0,
      no_route: 0,
    });
    expect(of('ottr_device_state').find((s) => s.labels.system_name === 'web-sfo1-01')!.labels.state).toBe(
      'never_rotated',
    );
  });

  it('escapes backslash, double quote and newline in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const odd = { ...row(status().rows, 'fw-sfo1-02'), route: 'r "quoted" \\ back\nslash' };
    const { samples } = parsePrometheus(
      statusPrometheus({ ...status(), rows: [odd], counts: countStates([odd]) }),
    );
    expect(samples[0]!.labels.route).toBe('r "quoted" \\ back\nslash');
  });
});

describe('markdown format', () => {
  it('has the counts, a table row per device and a Mermaid gantt', () => {
    const md = statusMarkdown(status());
    expect(md).toMatch(/^## Ottr fleet status\n\n\*\*10 devices: 1 expired, 1 never rotated, 3 due/);
    expect(md).toContain('| Device | State | Days left | Expires |');
    const rows = md.split('\n').filter((l) => /^\| (?!Device|-)/.test(l) && !l.startsWith('|---'));
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatch(/^\| fw-ams2-01 \| 🔴 expired \| -2\.8 \| 2026-11-20 \|/);
    expect(md).toContain('```mermaid\ngantt\n');
    expect(md).toContain('    section ams2\n');
    expect(md).toMatch(/ {4}fw-ams2-01:crit, 2026-08-22, 2026-11-20\n/);
    expect(md).toMatch(/ {4}app-ams2-02:2027-01-14, 2027-02-13\n/);
    expect(md).not.toContain('web-sfo1-01:'); // no expiry, no bar
  });

  it('caps the gantt with a note, and escapes cell text', () => {
    const s = status();
    const md = statusMarkdown(s, { ganttDevices: 3 });
    expect(md).toContain('title Certificate expiries (soonest 3)');
    expect(md).toContain('The chart shows the 3 soonest of 9 recorded expiries.');
    const odd = { ...row(s.rows, 'fw-sfo1-02'), owner: 'x', state: 'invalid' as const, reason: 'a | b <i>' };
    const escaped = statusMarkdown({ ...s, rows: [odd], counts: countStates([odd]) });
    expect(escaped).toContain('a \\| b &lt;i&gt;');
  });
});

describe('html dashboard', () => {
  it('is self-contained: CSP meta, inline style and script only, data as JSON', () => {
    const html = renderDashboard(status().rows, { generatedAt: NOW });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+';/,
    );
    expect(html).not.toMatch(/src="http/i);
    expect(html).not.toMatch(/href="http/i);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|@import|url\(/i);
    const json = /<script type="application\/json" id="ottr-data">(.*?)<\/script>/s.exec(html)![1]!;
    const embedded = JSON.parse(json);
    expect(embedded.generated_at).toBe(NOW_TEXT);
    expect(embedded.devices).toHaveLength(10);
    expect(embedded.counts).toMatchObject({ expired: 1, never_rotated: 1, due: 3, ok: 5 });
    expect(html.match(/<tr class="row-/g)).toHaveLength(10);
    expect(html.match(/class="expiry-mark /g)).toHaveLength(9);
    expect(html).toContain('class="today"');
    expect(html).toMatch(/data-state="expired"><span class="count">1</);
  });

  it('shows device text as text: HTML escaped, and the JSON block cannot be closed from inside', () => {
    const base = row(status().rows, 'fw-sfo1-02');
    const evil: FleetRow = {
      ...base,
      owner: XSS,
      labels: { note: '</script><script>alert(2)</script>' },
      common_name: '"><svg onload=alert(3)>',
    };
    const html = renderDashboard([evil], { generatedAt: NOW, title: 'Fleet <b>' });
    expect(html).toContain(escapeHtml(XSS));
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain(XSS);
    expect(html).not.toContain('<svg onload');
    expect(html).not.toContain('alert(2)</script>');
    expect(html).toContain('<title>Fleet &lt;b&gt;</title>');
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the JSON block's and the script's own
    const json = /<script type="application\/json" id="ottr-data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(JSON.parse(json).devices[0].owner).toBe(XSS);
    expect(jsonForScript({ a: '</script>' })).toBe('{"a":"\\u003c/script>"}');
  });
});

describe('ottr status (CLI)', () => {
  let repo: TempRepo | undefined;
  let scratch: string | undefined;
  afterEach(() => {
    repo?.cleanup();
    repo = undefined;
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  });
  afterAll(() => repo?.cleanup());

  it('prints the text report of the sample, exit 0', async () => {
    const run = await runCli(['status', '--now', NOW_TEXT], PROJECT_ROOT, NO_COLOR);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('10 devices: 1 expired, 1 never rotated, 3 due');
    expect(run.stdout).toMatch(/^! {2}fw-ams2-01 /m);
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('honours FORCE_COLOR and NO_COLOR', async () => {
    const coloured = await runCli(['status', '--now', NOW_TEXT], PROJECT_ROOT, { FORCE_COLOR: '1' });
    expect(coloured.stdout).toContain('\u001b[31m');
    const plain = await runCli(['status', '--now', NOW_TEXT], PROJECT_ROOT, {
      FORCE_COLOR: '1',
      NO_COLOR: '1',
    });
    expect(plain.stdout).not.toContain('\u001b[');
  });

  it('applies the flags as filters', async () => {
    const run = await runCli(
      [
        'status',
        '--now',
        NOW_TEXT,
        '--format',
        'json',
        '--data-center',
        'sfo1',
        '--platform',
        'panos',
        '--due',
        '--expiring-within',
        '14d',
        '--search',
        'FW-',
      ],
      PROJECT_ROOT,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).devices.map((d: FleetRow) => d.system_name)).toEqual(['fw-sfo1-01']);
  });

  it('writes prometheus metrics to a file with --out', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ottr-status-'));
    const out = join(scratch, 'ottr.prom');
    const run = await runCli(['status', '--now', NOW_TEXT, '--format', 'prometheus', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(parsePrometheus(readFileSync(out, 'utf8')).samples.length).toBeGreaterThan(40);
  });

  it('writes the dashboard with an XSS attempt shown as text', async () => {
    repo = makeRepo({ withSampleInventory: true });
    const file = 'inventory/ams2/lb-ams2-01.yaml';
    const original = readFileSync(join(PROJECT_ROOT, file), 'utf8');
    repo.write(file, original.replace(/^owner: .*$/m, `owner: "${XSS}"`));
    const run = await runCli(['status', '--now', NOW_TEXT, '--format', 'html', '--out', 'site'], repo.root);
    expect(run.code, run.stderr).toBe(0);
    const html = readFileSync(join(repo.root, 'site', 'index.html'), 'utf8');
    expect(html).toContain('<td>&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(html).not.toContain(XSS);
    expect(html).not.toMatch(/src="http|href="http/);
  });

  it('refuses bad input with exit 2 and a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [['--format', 'yaml'], /--format must be one of text, json, markdown, prometheus, html/],
      [['--expiring-within', 'two weeks'], /--expiring-within must be a duration like 14d/],
      [['--expiring-within', '1M'], /--expiring-within must be a duration/],
      [['--now', 'yesterday'], /--now must be an ISO-8601 date/],
      [
        ['--platform', 'pano'],
        /--platform "pano" is not a host_platform or platform driver .*did you mean "panos"/,
      ],
      [['--data-center', 'ams3'], /--data-center "ams3" is not a data center .*did you mean "ams2"/],
      [['--format', 'html'], /--format html needs --out DIR/],
      [['--search', ' '], /--search needs some text/],
      [['--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['status', '--now', NOW_TEXT, ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('Run "ottr status --help" for usage.');
    }
  });

  it('exits 1 when settings are broken', async () => {
    repo = makeRepo({ withSampleInventory: true });
    repo.write('routing/settings.yaml', 'authorities: 3\n');
    const run = await runCli(['status'], repo.root);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no report');
  });

  it('explains states, filters, formats and examples in --help', async () => {
    const run = await runCli(['status', '--help']);
    expect(run.code).toBe(0);
    for (const word of [
      'never rotated',
      '--expiring-within',
      'prometheus',
      'Examples:',
      'NO_COLOR',
      'Exit codes',
    ])
      expect(run.stdout).toContain(word);
  });
});
