#!/usr/bin/env node
// Browser check of the reports page (/reports): the summary matches
// GET /api/reports/performance for the chosen range and period; bad ranges are
// refused next to their field without asking the server; CSV and PDF download
// (signed with the session token for a signed-in analyst) and the CSV agrees with
// the JSON; a viewer sees the page with the role it needs and no report.
//
//   node e2e/pages/reports.e2e.mjs <baseUrl> <artifactDir>
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { api, eventually, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

const STORAGE_KEY = 'trafficcast.session';
const num = (value, digits = 0) =>
  value == null || !Number.isFinite(value) ? '—' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const addDays = (date, days) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

const text = (page, testId) => page.getByTestId(testId).locator('dd').textContent();

async function ready(page, what) {
  await waitFor(
    page,
    () => {
      const root = document.querySelector('[data-testid="reports-page"]');
      return root && ['ready', 'empty'].includes(root.dataset.state) && root.getAttribute('aria-busy') === 'false';
    },
    null,
    `${what}: the report never showed`,
  );
}

/** The page's summary agrees with the API for the form in the URL (re-asked until it does: windows close live). */
async function agrees(page, baseUrl, what) {
  let report = null;
  await eventually(
    what,
    async () => {
      await ready(page, what);
      const url = new URL(page.url());
      const from = url.searchParams.get('from');
      const to = url.searchParams.get('to');
      const period = url.searchParams.get('period') ?? 'day';
      report = await api(baseUrl, `/api/reports/performance?start=${from}&end=${addDays(to, 1)}&period=${period}`);
      if (report.totals.windows === 0) return 'the fixture has no windows in the range';
      const want = {
        'total-vmt': num(report.totals.vmt),
        'total-vht': num(report.totals.vht),
        'total-tti': num(report.totals.travel_time_index, 2),
        'total-congestion': num(report.totals.congestion_hours, 1),
      };
      for (const r of report.reference_speeds) want[`total-delay-${r}`] = num(report.totals.delay_vehicle_hours[String(r)], 1);
      for (const [id, value] of Object.entries(want)) {
        const shown = (await text(page, id)).trim();
        if (shown !== value) return `${id} shows ${shown}, API ${value}`;
      }
      const periods = await page.locator('[data-testid="report-periods"] tbody tr').count();
      if (periods !== report.periods.length) return `${periods} period rows, API ${report.periods.length}`;
      const periodVmt = await page.locator('[data-testid="report-periods"] tbody td[data-col="vmt"]').allTextContents();
      const wantVmt = report.periods.map((p) => num(p.vmt));
      if (JSON.stringify(periodVmt) !== JSON.stringify(wantVmt)) return `period VMT ${periodVmt}, API ${wantVmt}`;
      const ranked = await page.locator('[data-testid="report-ranking"] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.segmentId));
      const wantRanked = report.segments.slice(0, 20).map((s) => s.segment_id);
      if (JSON.stringify(ranked) !== JSON.stringify(wantRanked)) return `ranking ${ranked.slice(0, 3)}…, API ${wantRanked.slice(0, 3)}…`;
      const bottlenecks = report.bottlenecks.length
        ? await page.locator('[data-testid="report-bottlenecks"] tbody tr').count()
        : (await page.getByTestId('bottlenecks-empty').count()) === 1
          ? 0
          : -1;
      if (bottlenecks !== report.bottlenecks.length) return `${bottlenecks} bottlenecks, API ${report.bottlenecks.length}`;
      return null;
    },
    30_000,
    { onRetry: () => page.getByTestId('report-submit').click() },
  );
  return report;
}

async function download(page, testId, artifactDir) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId(testId).click()]);
  const target = path.join(artifactDir, file.suggestedFilename());
  await file.saveAs(target);
  return { name: file.suggestedFilename(), bytes: readFileSync(target) };
}

/** A user of `role` signed in through the API; its session as the page stores it. */
async function sessionFor(baseUrl, role) {
  const username = `e2e-reports-${role}-${Math.random().toString(36).slice(2, 8)}`;
  const password = `pw-${Math.random().toString(36).slice(2, 12)}-x`;
  await api(baseUrl, '/api/users', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password, role }),
  });
  const s = await api(baseUrl, '/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const now = Date.now();
  return {
    accessToken: s.access_token,
    refreshToken: s.refresh_token,
    issuedAt: now,
    expiresAt: now + s.expires_in * 1000,
    refreshExpiresAt: now + s.refresh_expires_in * 1000,
    user: s.user,
  };
}

async function signedInPage(context, session) {
  const page = await context.newPage();
  await page.addInitScript(([key, value]) => localStorage.setItem(key, value), [STORAGE_KEY, JSON.stringify(session)]);
  return page;
}

runPageCheck('reports', async ({ page, context, baseUrl, artifactDir, screenshot, problems }) => {
  const requests = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/reports/')) requests.push(url.search);
  });
  await openLive(page, baseUrl, '/reports');
  await ready(page, 'first load');
  // The default: the last 7 UTC days up to today, by day, kept in the URL.
  const today = new Date().toISOString().slice(0, 10);
  if ((await page.getByTestId('report-from').inputValue()) !== addDays(today, -6)) fail('the form does not start 6 days ago');
  if ((await page.getByTestId('report-to').inputValue()) !== today) fail('the form does not end today');
  await page.getByTestId('report-submit').click();
  await waitFor(page, () => new URL(location.href).searchParams.has('from'), null, 'the range is not in the URL');
  let report = await agrees(page, baseUrl, 'the default week by day');
  await screenshot('reports-day');

  // Validation: the end before the start, and more than 366 days, are refused in place.
  const asked = requests.length;
  await page.getByTestId('report-to').fill(addDays(today, -10));
  await page.getByTestId('report-submit').click();
  const backwards = (await page.getByTestId('report-to-problem').textContent()).trim();
  if (backwards !== 'The end date is before the start date.') fail(`an end before the start reads "${backwards}"`);
  if ((await page.getByTestId('report-to').getAttribute('aria-invalid')) !== 'true') fail('the bad end date is not marked invalid');
  await page.getByTestId('report-from').fill(addDays(today, -400));
  await page.getByTestId('report-to').fill(today);
  await page.getByTestId('report-submit').click();
  const long = (await page.getByTestId('report-to-problem').textContent()).trim();
  if (long !== 'At most 366 days in one report.') fail(`a 401-day range reads "${long}"`);
  await screenshot('reports-invalid');
  await page.getByTestId('report-from').fill('');
  await page.getByTestId('report-submit').click();
  if ((await page.getByTestId('report-from-problem').textContent()).trim() !== 'Choose a start date.') fail('an empty start is not named');
  if (requests.length !== asked) fail(`an invalid form was sent to the server: ${requests.slice(asked)}`);

  // By week: the form in the URL, the periods labelled as weeks, figures as the API.
  await page.getByTestId('report-from').fill(addDays(today, -13));
  await page.getByTestId('report-to').fill(today);
  await page.getByTestId('report-period').selectOption('week');
  await page.getByTestId('report-submit').click();
  await waitFor(page, () => new URL(location.href).searchParams.get('period') === 'week', null, 'the period is not in the URL');
  report = await agrees(page, baseUrl, 'two weeks by week');
  const label = await page.locator('[data-testid="report-periods"] tbody th').first().textContent();
  if (!label.startsWith('week of ')) fail(`a week reads "${label}"`);
  const ranking = await page.getByTestId('ranking-count').textContent();
  if (ranking.trim() !== `${Math.min(20, report.segments.length)} of ${report.segments.length}`) fail(`the ranking count reads "${ranking}"`);
  await page.getByTestId('report-totals').scrollIntoViewIfNeeded();
  await screenshot('reports-week');
  if (report.segments.length > 20) {
    await page.getByTestId('ranking-toggle').click();
    const all = await page.locator('[data-testid="report-ranking"] tbody tr').count();
    if (all !== report.segments.length) fail(`Show all gives ${all} ranked segments, the API ${report.segments.length}`);
    await page.getByTestId('ranking-toggle').click();
  }

  // CSV: one total row, a row per period, segment and bottleneck; the totals as the JSON.
  const csv = await download(page, 'download-csv', artifactDir);
  if (!/^performance-week-.*\.csv$/.test(csv.name)) fail(`the CSV is named ${csv.name}`);
  const lines = csv.bytes.toString('utf8').trim().split('\r\n');
  const header = lines[0].split(',');
  const scopes = lines.slice(1).map((l) => l.split(',')[0]);
  const count = (s) => scopes.filter((x) => x === s).length;
  if (header[0] !== 'scope' || !header.includes('vmt')) fail(`the CSV header is ${lines[0]}`);
  if (count('total') !== 1 || count('period') !== report.periods.length || count('segment') !== report.segments.length || count('bottleneck') !== report.bottlenecks.length) {
    fail(`the CSV has ${JSON.stringify({ total: count('total'), period: count('period'), segment: count('segment') })}, the JSON ${report.periods.length} periods, ${report.segments.length} segments`);
  }
  const total = lines[1].split(',');
  const csvVmt = Number(total[header.indexOf('vmt')]);
  const latest = await api(baseUrl, `/api/reports/performance?start=${addDays(today, -13)}&end=${addDays(today, 1)}&period=week`);
  // Windows close live between the two reads; the total only grows.
  if (!(csvVmt >= report.totals.vmt * 0.98 && csvVmt <= latest.totals.vmt * 1.02)) fail(`the CSV VMT ${csvVmt}, the JSON ${report.totals.vmt}–${latest.totals.vmt}`);
  await waitFor(page, () => document.querySelector('[data-testid="download-state"]')?.textContent?.startsWith('Saved '), null, 'no "Saved" line after the CSV');

  // PDF: a real PDF, with progress shown while it is built and received.
  const [pdf] = await Promise.all([
    download(page, 'download-pdf', artifactDir),
    page.getByTestId('download-progress').waitFor({ timeout: 10_000 }).then(() => screenshot('reports-downloading')),
  ]);
  if (pdf.bytes.subarray(0, 5).toString() !== '%PDF-' || pdf.bytes.length < 5_000) fail(`the PDF download is not a PDF (${pdf.bytes.length} bytes)`);

  // A shared link with a backwards range says so and asks the server for nothing.
  const before = requests.length;
  await page.goto(new URL(`/reports?from=${today}&to=${addDays(today, -3)}&period=day`, baseUrl).toString());
  const invalid = (await page.getByTestId('report-invalid').textContent()) ?? '';
  if (!invalid.includes('The end date is before the start date.')) fail(`a backwards link reads "${invalid}"`);
  if (requests.length !== before) fail(`a backwards link was sent: ${requests.slice(before)}`);

  // A signed-in analyst: the report and its CSV go out with the bearer token.
  const analyst = await signedInPage(context, await sessionFor(baseUrl, 'analyst'));
  const signed = [];
  analyst.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/reports/performance') signed.push(r.headers().authorization ?? '');
  });
  analyst.on('console', (m) => ['error', 'warning'].includes(m.type()) && problems.push(`analyst console ${m.type()}: ${m.text()}`));
  await openLive(analyst, baseUrl, '/reports');
  await ready(analyst, 'the analyst');
  await download(analyst, 'download-csv', artifactDir);
  if (signed.length < 2 || !signed.every((h) => h.startsWith('Bearer '))) fail(`the analyst's report requests were sent with ${JSON.stringify(signed)}`);
  await analyst.close();

  // A viewer sees why there is no report, and the page asks the server for none.
  const viewer = await signedInPage(context, await sessionFor(baseUrl, 'viewer'));
  const viewerAsked = [];
  viewer.on('request', (r) => new URL(r.url()).pathname.startsWith('/api/reports/') && viewerAsked.push(r.url()));
  await openLive(viewer, baseUrl, '/reports');
  const note = (await viewer.getByTestId('reports-role-note').textContent()) ?? '';
  if (!note.includes('need the analyst or admin role') || !note.includes('viewer role')) fail(`the viewer reads "${note}"`);
  if ((await viewer.getByTestId('download-csv').count()) !== 0) fail('the viewer is offered a download');
  if (viewerAsked.length) fail(`the viewer's page asked for ${viewerAsked}`);
  await viewer.screenshot({ path: path.join(artifactDir, 'reports-viewer.png') });
  await viewer.close();
});
