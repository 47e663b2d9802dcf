import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, PROJECT_ROOT, runCli, type TempRepo } from '../helpers/cli.ts';

const NOW = '2026-11-23T06:00:00Z';
const AMS2 = ['app-ams2-01', 'app-ams2-02', 'console-ams2-01', 'fw-ams2-01', 'lb-ams2-01'];
const SCREENSHOT = join(PROJECT_ROOT, 'tmp', 'dashboard.png');

let browser: Browser;
let scratch: string;
let repo: TempRepo | undefined;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ottr-dashboard-'));
  browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  repo?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Watched {
  page: Page;
  errors: string[];
  failed: string[];
  dialogs: string[];
}

/** Writes the dashboard with the CLI and opens it, recording console errors, failed requests and dialogs. */
async function openDashboard(root: string, out: string): Promise<Watched> {
  const run = await runCli(['status', '--now', NOW, '--format', 'html', '--out', out], root);
  expect(run.code, run.stderr).toBe(0);
  const page = await browser.newPage();
  const watched: Watched = { page, errors: [], failed: [], dialogs: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push(message.text());
  });
  page.on('pageerror', (error) => watched.errors.push(String(error)));
  page.on('requestfailed', (request) => watched.failed.push(request.url()));
  page.on('dialog', async (dialog) => {
    watched.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(pathToFileURL(join(out, 'index.html')).href, { waitUntil: 'load' });
  return watched;
}

function visibleDevices(page: Page): Promise<string[]> {
  return page.$$eval('#devices tbody tr[data-i]', (rows) =>
    rows
      .filter((row) => (row as unknown as { offsetParent: unknown }).offsetParent !== null)
      .map((row) => row.querySelector('td')!.firstChild!.textContent!),
  );
}

describe('the fleet dashboard in headless Chromium', () => {
  it('renders the sample: rows, counts, timeline, working search, no errors; screenshot', async () => {
    const { page, errors, failed } = await openDashboard(PROJECT_ROOT, join(scratch, 'site'));

    expect(await page.$$eval('#devices tbody tr[data-i]', (rows) => rows.length)).toBe(10);
    expect(await visibleDevices(page)).toHaveLength(10);
    expect(await page.$eval('#shown', (e) => e.textContent)).toBe('10 of 10 devices shown');

    const counts = await page.$$eval('.cards .card', (cards) =>
      Object.fromEntries(
        cards.map((card) => [
          card.getAttribute('data-state') ?? 'total',
          Number(card.querySelector('.count')!.textContent),
        ]),
      ),
    );
    expect(counts).toEqual({
      total: 10,
      expired: 1,
      never_rotated: 1,
      due: 3,
      expiring: 0,
      ok: 5,
      invalid: 0,
      no_route: 0,
    });

    // One mark per device with a recorded expiry: all but web-sfo1-01, which was never rotated.
    expect(await page.$$eval('svg.timeline .expiry-mark', (marks) => marks.length)).toBe(9);
    expect(await page.$$eval('svg.timeline line.today', (lines) => lines.length)).toBe(1);
    const groups = await page.$$eval('svg.timeline .group-label', (labels) =>
      labels.map((label) => label.lastChild!.textContent),
    );
    expect(groups).toContain('ams2 · panos');
    expect(groups).toContain('sfo1 · f5');

    // The script ran under the page's Content-Security-Policy, so its hash is right.
    await page.type('#search', 'ams2');
    expect((await visibleDevices(page)).sort()).toEqual(AMS2);
    expect(await page.$eval('#shown', (e) => e.textContent)).toBe('5 of 10 devices shown');
    expect(await page.$$eval('.expiry-mark:not(.dim)', (marks) => marks.length)).toBe(5);

    await page.$eval('#search', (input) => {
      (input as unknown as { value: string }).value = '';
    });
    await page.type('#search', 'app-team');
    expect((await visibleDevices(page)).sort()).toEqual(['app-ams2-01', 'app-ams2-02']);
    await page.type('#search', ' nomatch');
    expect(await visibleDevices(page)).toEqual([]);
    expect(await page.$eval('#no-match', (e) => (e as unknown as { hidden: boolean }).hidden)).toBe(false);

    await page.$eval('#search', (input) => {
      (input as unknown as { value: string }).value = '';
      input.dispatchEvent(new Event('input'));
    });
    expect(await visibleDevices(page)).toHaveLength(10);

    mkdirSync(join(PROJECT_ROOT, 'tmp'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(20_000);

    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    await page.close();
  });

  it('shows markup in device fields as text and runs none of it', async () => {
    repo = makeRepo({ withSampleInventory: true });
    const file = 'inventory/ams2/lb-ams2-01.yaml';
    const original = readFileSync(join(PROJECT_ROOT, file), 'utf8');
    repo.write(file, original.replace(/^owner: .*$/m, 'owner: "<img src=x onerror=alert(1)></script>"'));
    const { page, errors, failed, dialogs } = await openDashboard(repo.root, join(scratch, 'xss'));

    expect(await page.$$eval('#devices img, #devices script', (found) => found.length)).toBe(0);
    const owners = await page.$$eval('#devices tbody tr[data-i] td:nth-child(10)', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    expect(owners).toContain('<img src=x onerror=alert(1)></script>');
    await page.type('#search', 'onerror');
    expect(await visibleDevices(page)).toEqual(['lb-ams2-01']);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    await page.close();
  });
});
