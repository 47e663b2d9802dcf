import { createHash } from 'node:crypto';
import { isoInstant } from '../plan/due.ts';
import { DAY } from '../util/duration.ts';
import { countStates, DEVICE_STATES, type FleetRow, stateLabel } from './fleet.ts';
import type { StatusDocument } from './json.ts';
import { noteOf } from './text.ts';

export interface DashboardOptions {
  /** The instant the rows were computed for: the timeline's "today". */
  generatedAt: Date | string;
  /** Page heading; default "Ottr fleet status". */
  title?: string;
}

/** The file `ottr status --format html --out DIR` writes into DIR. */
export const DASHBOARD_FILE = 'index.html';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/**
 * JSON for a `<script type="application/json">` block: `<` is written as `\u003c` so no device text can close
 * the element (`</script>`) or open a comment; the parsed value is unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function day(iso: string | undefined): string {
  return iso === undefined ? '—' : iso.slice(0, 10);
}

const STYLE = `
:root { color-scheme: light dark; --bg: #f7f7f9; --fg: #1d1f24; --muted: #6b7280; --card: #fff; --line: #e3e5ea;
  --expired: #c62828; --due: #d97706; --never_rotated: #b45309; --expiring: #ca8a04; --ok: #15803d;
  --invalid: #7c3aed; --no_route: #6b7280; --today: #2563eb; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15171c; --fg: #e6e8ee; --muted: #9aa1ad; --card: #1f2229; --line: #323743; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { margin: 0 0 4px; font-size: 22px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
.meta { color: var(--muted); margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 20px; }
.card { background: var(--card); border: 1px solid var(--line); border-top: 4px solid var(--muted);
  border-radius: 8px; padding: 10px 16px; min-width: 120px; }
.card .count { display: block; font-size: 26px; font-weight: 600; }
.card .label { color: var(--muted); }
.card.zero { opacity: .55; }
.card.state-expired { border-top-color: var(--expired); }
.card.state-never_rotated { border-top-color: var(--never_rotated); }
.card.state-due { border-top-color: var(--due); }
.card.state-expiring { border-top-color: var(--expiring); }
.card.state-ok { border-top-color: var(--ok); }
.card.state-invalid { border-top-color: var(--invalid); }
.card.state-no_route { border-top-color: var(--no_route); }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow-x: auto; }
svg.timeline { width: 100%; min-width: 720px; height: auto; display: block; font-size: 11px; }
svg .band { fill: var(--bg); }
svg .grid { stroke: var(--line); }
svg .axis-label, svg .group-label { fill: var(--muted); }
svg .group-label { fill: var(--fg); }
svg .today { stroke: var(--today); stroke-width: 2; }
svg .today-label { fill: var(--today); font-weight: 600; }
.expiry-mark { stroke: var(--card); stroke-width: 1; }
.expiry-mark.dim { opacity: .12; }
.state-expired.expiry-mark { fill: var(--expired); }
.state-never_rotated.expiry-mark { fill: var(--never_rotated); }
.state-due.expiry-mark { fill: var(--due); }
.state-expiring.expiry-mark { fill: var(--expiring); }
.state-ok.expiry-mark { fill: var(--ok); }
.state-invalid.expiry-mark { fill: var(--invalid); }
.state-no_route.expiry-mark { fill: var(--no_route); }
.legend { color: var(--muted); margin: 8px 0 0; }
.toolbar { display: flex; gap: 12px; align-items: center; margin-bottom: 10px; }
#search { font: inherit; padding: 6px 10px; width: min(420px, 100%); border: 1px solid var(--line);
  border-radius: 6px; background: var(--card); color: var(--fg); }
#shown { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; font-variant-numeric: tabular-nums; }
td:first-child { white-space: nowrap; }
td .sub { color: var(--muted); font-size: 12px; }
tr.row-expired td:first-child { box-shadow: inset 4px 0 var(--expired); }
tr.row-expired { background: color-mix(in srgb, var(--expired) 8%, transparent); }
tr.row-expiring td:first-child, tr.row-due td:first-child, tr.row-never_rotated td:first-child {
  box-shadow: inset 4px 0 var(--expiring); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; color: #fff; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.badge.state-expired { background: var(--expired); }
.badge.state-never_rotated { background: var(--never_rotated); }
.badge.state-due { background: var(--due); }
.badge.state-expiring { background: var(--expiring); }
.badge.state-ok { background: var(--ok); }
.badge.state-invalid { background: var(--invalid); }
.badge.state-no_route { background: var(--no_route); }
`;

// Plain browser JavaScript (not compiled): filters the table as the search box changes.
const SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('ottr-data').textContent);
  var input = document.getElementById('search');
  var shown = document.getElementById('shown');
  var noMatch = document.getElementById('no-match');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#devices tbody tr[data-i]'));
  var marks = Array.prototype.slice.call(document.querySelectorAll('.expiry-mark'));
  var haystacks = rows.map(function (row) {
    var device = data.devices[Number(row.getAttribute('data-i'))] || {};
    var labels = device.labels || {};
    var extra = [device.file || '', device.driver || '', device.authority || '']
      .concat(device.subject_alternative_names || [])
      .concat(Object.keys(labels).map(function (key) { return key + ' ' + labels[key]; }));
    return (row.textContent + ' ' + extra.join(' ')).toLowerCase();
  });
  function apply() {
    var terms = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var visible = {};
    var count = 0;
    rows.forEach(function (row, k) {
      var match = terms.every(function (term) { return haystacks[k].indexOf(term) !== -1; });
      row.hidden = !match;
      if (match) { visible[row.getAttribute('data-i')] = true; count++; }
    });
    marks.forEach(function (mark) {
      mark.classList.toggle('dim', terms.length > 0 && !visible[mark.getAttribute('data-i')]);
    });
    shown.textContent = count + ' of ' + rows.length + ' devices shown';
    noMatch.hidden = count > 0 || rows.length === 0;
  }
  input.addEventListener('input', apply);
  document.addEventListener('keydown', function (event) {
    if (event.key === '/' && document.activeElement !== input) { event.preventDefault(); input.focus(); }
  });
  apply();
})();
`;

const TIMELINE = { width: 1000, labelWidth: 190, right: 20, axis: 28, lane: 12, padding: 10, maxLanes: 8 };

interface Dated {
  row: FleetRow;
  index: number;
  notAfter: number;
}

function monthTicks(fromMs: number, toMs: number): number[] {
  const from = new Date(fromMs);
  const months =
    (new Date(toMs).getUTCFullYear() - from.getUTCFullYear()) * 12 +
    new Date(toMs).getUTCMonth() -
    from.getUTCMonth();
  const step = Math.max(1, Math.ceil(months / 10));
  const ticks: number[] = [];
  for (let m = 1; m <= months; m += step)
    ticks.push(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + m, 1));
  return ticks;
}

/** Marks placed on lanes so that close expiries do not cover each other (beyond maxLanes they overlap). */
function assignLanes(
  xs: readonly number[],
  gap: number,
  maxLanes: number,
): { lanes: number[]; used: number } {
  const lastX: number[] = [];
  const lanes = xs.map((x) => {
    let lane = lastX.findIndex((last) => x - last >= gap);
    if (lane === -1) {
      if (lastX.length < maxLanes) lane = lastX.length;
      else lane = lastX.indexOf(Math.min(...lastX));
    }
    lastX[lane] = x;
    return lane;
  });
  return { lanes, used: Math.max(1, lastX.length) };
}

/** An SVG timeline: one band per data center and platform, a mark per expiry, today as a vertical line. */
function timelineSvg(rows: readonly FleetRow[], nowMs: number): { svg: string; undated: number } {
  const dated: Dated[] = [];
  rows.forEach((row, index) => {
    const notAfter = row.not_after === undefined ? Number.NaN : Date.parse(row.not_after);
    if (Number.isFinite(notAfter)) dated.push({ row, index, notAfter });
  });
  const undated = rows.length - dated.length;
  if (dated.length === 0) return { svg: '', undated };

  let min = nowMs;
  let max = nowMs;
  for (const d of dated) {
    if (d.notAfter < min) min = d.notAfter;
    if (d.notAfter > max) max = d.notAfter;
  }
  const pad = Math.max(2 * DAY, (max - min) * 0.04);
  min -= pad;
  max += pad;
  const { width, labelWidth, right, axis, lane, padding, maxLanes } = TIMELINE;
  const plotWidth = width - labelWidth - right;
  const x = (ms: number) => labelWidth + ((ms - min) / (max - min)) * plotWidth;
  const r = (n: number) => Math.round(n * 10) / 10;

  const groups = new Map<string, { dc: string; platform: string; items: Dated[] }>();
  for (const d of dated) {
    const platform = d.row.platform ?? '—';
    const key = `${d.row.data_center}\u0000${platform}`;
    let group = groups.get(key);
    if (!group) {
      group = { dc: d.row.data_center, platform, items: [] };
      groups.set(key, group);
    }
    group.items.push(d);
  }
  const ordered = [...groups.values()].sort((a, b) =>
    a.dc === b.dc ? (a.platform < b.platform ? -1 : 1) : a.dc < b.dc ? -1 : 1,
  );

  const body: string[] = [];
  let y = axis;
  ordered.forEach((group, g) => {
    group.items.sort((a, b) => a.notAfter - b.notAfter);
    const xs = group.items.map((d) => x(d.notAfter));
    const { lanes, used } = assignLanes(xs, 11, maxLanes);
    const height = used * lane + padding * 2;
    if (g % 2 === 0) body.push(`<rect class="band" x="0" y="${y}" width="${width}" height="${height}"/>`);
    const label = `${group.dc || '—'} · ${group.platform}`;
    const shortLabel = label.length > 28 ? `${label.slice(0, 27)}…` : label;
    body.push(
      `<text class="group-label" x="8" y="${y + padding + 9}"><title>${escapeHtml(label)} (${group.items.length})</title>${escapeHtml(shortLabel)}</text>`,
    );
    group.items.forEach((d, k) => {
      const cy = y + padding + lanes[k]! * lane + lane / 2;
      const days = d.row.days_left;
      const left = days === undefined ? '' : days < 0 ? `, expired ${-days} days ago` : `, ${days} days left`;
      const title = `${d.row.system_name} — expires ${day(d.row.not_after)} (${stateLabel(d.row.state)}${left})`;
      body.push(
        `<circle class="expiry-mark state-${d.row.state}" data-i="${d.index}" cx="${r(xs[k]!)}" cy="${cy}" r="5"><title>${escapeHtml(title)}</title></circle>`,
      );
    });
    y += height;
  });

  const axisLines: string[] = [];
  for (const tick of monthTicks(min, max)) {
    const tx = r(x(tick));
    axisLines.push(
      `<line class="grid" x1="${tx}" y1="${axis - 6}" x2="${tx}" y2="${y}"/>`,
      `<text class="axis-label" x="${tx + 3}" y="${axis - 10}">${new Date(tick).toISOString().slice(0, 7)}</text>`,
    );
  }
  const todayX = r(x(nowMs));
  const today = [
    `<line class="today" x1="${todayX}" y1="${axis - 22}" x2="${todayX}" y2="${y}"/>`,
    `<text class="today-label" x="${todayX + 4}" y="${axis - 18}">today</text>`,
  ];
  const svg = [
    `<svg class="timeline" viewBox="0 0 ${width} ${y + 4}" role="img" aria-label="Certificate expiries by data center and platform">`,
    ...body,
    ...axisLines,
    ...today,
    '</svg>',
  ].join('\n');
  return { svg, undated };
}

function tableRow(row: FleetRow, index: number): string {
  const sub = row.state === 'invalid' || row.state === 'no_route' ? row.file : (row.common_name ?? '');
  const cells = [
    `<td>${escapeHtml(row.system_name)}${sub ? `<div class="sub">${escapeHtml(sub)}</div>` : ''}</td>`,
    `<td><span class="badge state-${row.state}">${stateLabel(row.state)}</span></td>`,
    `<td class="num">${row.days_left === undefined ? '—' : row.days_left.toFixed(1)}</td>`,
    `<td class="date">${escapeHtml(day(row.not_after))}</td>`,
    `<td class="date">${escapeHtml(day(row.renewal_start))}</td>`,
    `<td class="date">${escapeHtml(day(row.rotated_at))}</td>`,
    `<td>${escapeHtml(row.data_center || '—')}</td>`,
    `<td>${escapeHtml(row.platform ?? '—')}</td>`,
    `<td>${escapeHtml(row.route ?? '—')}</td>`,
    `<td>${escapeHtml(row.owner ?? '')}</td>`,
    `<td>${escapeHtml(row.state === 'invalid' || row.state === 'no_route' ? row.reason : noteOf(row))}</td>`,
  ];
  return `<tr class="row-${row.state}" data-i="${index}" data-state="${row.state}">${cells.join('')}</tr>`;
}

/**
 * The fleet dashboard: one self-contained HTML page (inline CSS and JS allowed by hash in its
 * Content-Security-Policy, no external requests) with counts by state, an expiry timeline by data center and
 * platform, and a searchable device table. Rows are shown in the order given (fleetStatus: most urgent first).
 */
export function renderDashboard(rows: readonly FleetRow[], options: DashboardOptions): string {
  const nowMs = new Date(options.generatedAt).getTime();
  const generatedAt = Number.isFinite(nowMs) ? isoInstant(nowMs) : String(options.generatedAt);
  const title = options.title ?? 'Ottr fleet status';
  const counts = countStates(rows);
  const embedded: StatusDocument = { generated_at: generatedAt, counts, devices: [...rows] };

  const cards = [
    `<div class="card total"><span class="count" id="count-total">${rows.length}</span><span class="label">devices</span></div>`,
    ...DEVICE_STATES.map(
      (state) =>
        `<div class="card state-${state}${counts[state] === 0 ? ' zero' : ''}" data-state="${state}"><span class="count">${counts[state]}</span><span class="label">${stateLabel(state)}</span></div>`,
    ),
  ];
  const timeline = timelineSvg(rows, Number.isFinite(nowMs) ? nowMs : Date.now());
  const timelineNote =
    timeline.undated > 0
      ? `<p class="legend">${timeline.undated} device${timeline.undated === 1 ? ' has' : 's have'} no recorded expiry and ${timeline.undated === 1 ? 'is' : 'are'} not on the timeline.</p>`
      : '';
  const headers = [
    'Device',
    'State',
    'Days left',
    'Expires',
    'Renews from',
    'Last rotation',
    'Data center',
    'Platform',
    'Route',
    'Owner',
    'Note',
  ];
  const csp = [
    "default-src 'none'",
    `script-src ${cspHash(SCRIPT)}`,
    `style-src ${cspHash(STYLE)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ottr status">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Generated ${escapeHtml(generatedAt)} · ${rows.length} device${rows.length === 1 ? '' : 's'}</p>
</header>
<section class="cards" aria-label="Devices by state">
${cards.join('\n')}
</section>
<h2>Expiries by data center and platform</h2>
<div class="panel">
${timeline.svg || '<p class="legend">No device has a recorded expiry.</p>'}
${timelineNote}
</div>
<h2>Devices</h2>
<div class="toolbar">
<input type="search" id="search" placeholder="Search names, owners, labels… (press /)" aria-label="Search devices" autocomplete="off" spellcheck="false">
<span id="shown" aria-live="polite">${rows.length} of ${rows.length} devices shown</span>
</div>
<div class="panel">
<table id="devices">
<thead><tr>${headers.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead>
<tbody>
${rows.map(tableRow).join('\n')}
</tbody>
</table>
<p id="no-match" class="legend" hidden>No device matches the search.</p>
</div>
<script type="application/json" id="ottr-data">${jsonForScript(embedded)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
