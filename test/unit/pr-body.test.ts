import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  GITHUB_BODY_LIMIT,
  PULL_REQUEST_MARKER,
  renderPullRequest,
  shortFingerprint,
} from '../../src/gitops/pr-body.ts';
import type { RotationResult } from '../../src/model/results.ts';
import { escapeTableCell, formatExpiry, markdownLink } from '../../src/util/markdown-escape.ts';

const FINGERPRINT =
  '3A:1F:9C:22:7B:E4:05:D1:6A:88:0C:4E:B2:91:7F:3D:55:A0:C8:19:E6:4B:72:0D:9F:13:A7:C5:28:6E:B4:01';

function rotated(name: string): RotationResult {
  return {
    schema: 'ottr.result/v1',
    system_name: name,
    status: 'rotated',
    certificate: {
      not_before: '2026-11-23T06:00:00Z',
      not_after: '2027-02-21T06:00:00Z',
      serial: '04ab12',
      issuer: "CN=E7,O=Let's Encrypt,C=US",
      sha256_fingerprint: FINGERPRINT,
      rotated_at: '2026-11-23T06:05:00Z',
    },
    previous: { serial: '0399', not_after: '2026-11-29T09:12:43Z' },
    phases: [
      { name: 'precheck', ms: 1200 },
      { name: 'order', ms: 61_000 },
      { name: 'install', ms: 3300 },
    ],
  };
}

function failed(name: string, message: string): RotationResult {
  return {
    schema: 'ottr.result/v1',
    system_name: name,
    status: 'rolled_back',
    phases: [{ name: 'install', ms: 500 }],
    error: { phase: 'verify', class: 'verify_failed', message },
    rollback: { restored: true, message: 'old binding back' },
    run_url: 'https://github.com/acme/net/actions/runs/42/job/7',
  };
}

describe('cells and formats', () => {
  it('escapes pipes, line breaks and HTML in table cells', () => {
    expect(escapeTableCell('a | b\nc\r\nd <script>&')).toBe('a \\| b<br>c<br>d &lt;script&gt;&amp;');
  });

  it('shortens fingerprints, formats durations and expiries', () => {
    expect(shortFingerprint(FINGERPRINT)).toBe('3A:1F:9C:22…B4:01');
    expect(shortFingerprint('AB:CD')).toBe('AB:CD');
    expect(formatDuration(4_400)).toBe('4s');
    expect(formatDuration(65_500)).toBe('1m 06s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatExpiry('2027-02-21T06:00:00.000Z')).toBe('2027-02-21 06:00Z');
    expect(formatExpiry(undefined)).toBe('—');
    expect(formatExpiry('soon')).toBe('soon');
  });

  it('links only http(s) URLs and keeps them from breaking the Markdown', () => {
    expect(markdownLink('run', 'javascript:alert(1)')).toBeUndefined();
    expect(markdownLink('run', 'https://x.test/a b)')).toBe('[run](https://x.test/a%20b%29)');
  });
});

describe('renderPullRequest', () => {
  it('lists rotated devices, failures with rollback and run link, and skipped devices', () => {
    const skipped: RotationResult = {
      schema: 'ottr.result/v1',
      system_name: 'lb-1',
      status: 'skipped',
      phases: [],
      warnings: ['not due'],
    };
    const { title, body, truncated } = renderPullRequest(
      [
        rotated('fw-2'),
        failed('fw-9', 'served serial 01 | expected 04ab\nsecond line'),
        rotated('fw-1'),
        skipped,
      ],
      { runUrl: 'https://github.com/acme/net/actions/runs/42' },
    );
    expect(title).toBe('ottr: record 2 rotated certificates (1 failed)');
    expect(truncated).toBe(false);
    expect(body.startsWith(PULL_REQUEST_MARKER)).toBe(true);
    expect(body).toContain('[this run](https://github.com/acme/net/actions/runs/42)');
    expect(body).toContain(
      "| `fw-1` | 2026-11-29 09:12Z → 2027-02-21 06:00Z | `04ab12` | CN=E7,O=Let's Encrypt,C=US | `3A:1F:9C:22…B4:01` | 1m 06s |",
    );
    expect(body.indexOf('`fw-1`')).toBeLessThan(body.indexOf('`fw-2`'));
    expect(body).toContain(
      '| `fw-9` | verify | `verify_failed` | served serial 01 \\| expected 04ab<br>second line | restored: old binding back | [run](https://github.com/acme/net/actions/runs/42/job/7) |',
    );
    expect(body).toContain('### Skipped (1)\n| Device | Reason |\n|---|---|\n| `lb-1` | not due |');
    // Every table row has exactly as many cells as its header.
    for (const line of body.split('\n').filter((l) => l.startsWith('| `'))) {
      const cells = line.replace(/\\\|/g, '').split('|').length - 2;
      expect([2, 6]).toContain(cells);
    }
  });

  it('says when a rollback did not restore the old certificate', () => {
    const result = failed('fw-9', 'x');
    result.rollback = { restored: false, message: 'device refused' };
    expect(renderPullRequest([result]).body).toContain('**NOT restored**: device refused');
  });

  it('names devices carried over from an earlier unmerged run', () => {
    const { title, body } = renderPullRequest([rotated('fw-1')], { carriedOver: ['fw-0', 'fw-1'] });
    expect(title).toBe('ottr: record 2 rotated certificates');
    expect(body).toContain('not merged yet, for: `fw-0`.');
  });

  it('is deterministic', () => {
    const results = [rotated('b'), rotated('a'), failed('c', 'boom')];
    expect(renderPullRequest(results)).toEqual(renderPullRequest([...results].reverse()));
  });

  it('stays under the GitHub body limit with an "…and N more" line', () => {
    const results = Array.from({ length: 2000 }, (_, i) => rotated(`fw-${String(i).padStart(4, '0')}`));
    results.push(...Array.from({ length: 300 }, (_, i) => failed(`bad-${i}`, 'x'.repeat(2000))));
    const { body, truncated } = renderPullRequest(results);
    expect(truncated).toBe(true);
    expect(body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(body.length).toBeGreaterThan(GITHUB_BODY_LIMIT - 1000);
    const shown = body.split('\n').filter((l) => l.startsWith('| `fw-')).length;
    expect(body).toContain(`…and ${2000 - shown} more rotated devices`);
    expect(body).toContain('…and 300 more failures');
    expect(body).toContain('### Failures (300)');
  });

  it('honours a smaller limit', () => {
    const results = Array.from({ length: 50 }, (_, i) => rotated(`fw-${i}`));
    const { body } = renderPullRequest(results, { maxLength: 3000 });
    expect(body.length).toBeLessThanOrEqual(3000);
    expect(body).toMatch(/…and \d+ more rotated devices/);
  });
});
