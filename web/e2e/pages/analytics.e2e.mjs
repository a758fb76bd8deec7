#!/usr/bin/env node
// Browser check of the analytics page (/analytics): the summary, ranking and
// accuracy tables match the API for the range the page shows; period, range,
// sorting and "show all" work; CSV exports hold the table's rows; PDF exports
// are real PDFs holding their report.
//
//   node e2e/pages/analytics.e2e.mjs <baseUrl> <artifactDir>
//
// The figures come from closed 5-minute windows, so they hold still for minutes
// at a time while the server runs live: a comparison that meets a window close
// refreshes the page and tries again.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { api, eventually, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

const SETTLE_MS = 40_000;
const KMH_PER_MPH = 1.609344;
const TOP_N = 15;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Page and API compared until they agree, refreshing the page between tries. */
const agreeing = (page, what, check, timeout = SETTLE_MS) =>
  eventually(what, check, timeout, { interval: 1000, onRetry: () => refresh(page) });

const section = (page, id) => page.locator(`[data-testid="${id}-section"]`);

/** Waits until a section has loaded and its data-* attributes read `want`. */
async function ready(page, id, want = {}) {
  await waitFor(
    page,
    ({ id, want }) => {
      const el = document.querySelector(`[data-testid="${id}-section"]`);
      return el?.dataset.state === 'ready' && Object.entries(want).every(([k, v]) => el.getAttribute(`data-${k}`) === v);
    },
    { id, want },
    `the ${id} section never became ready with ${JSON.stringify(want)}`,
  );
}

/** Cell texts of a table by column id, row by row. */
async function tableRows(page, testId) {
  return page.evaluate((testId) => {
    const table = document.querySelector(`[data-testid="${testId}"]`);
    if (!table) return null;
    return [...table.querySelectorAll('tbody tr')].map((tr) =>
      Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent.trim()])),
    );
  }, testId);
}

const count = (text) => Number(String(text).replaceAll(',', ''));
const fixed = (value, digits) => (value == null ? '—' : value.toFixed(digits));
const speedText = (mph, unit) =>
  mph == null ? '—' : unit === 'kmh' ? `${Math.round(mph * KMH_PER_MPH)} km/h` : `${Math.round(mph)} mph`;

async function refresh(page) {
  await page.getByTestId('refresh').click();
}

// ---- traffic summary --------------------------------------------------------

function compareSummary(rows, body, unit) {
  if (rows.length !== body.buckets.length) return `${rows.length} rows, API ${body.buckets.length} buckets`;
  for (const [i, b] of body.buckets.entries()) {
    const r = rows[i];
    const want = {
      events: count(b.total_events),
      avg_speed: speedText(b.avg_speed, unit),
      avg_volume: fixed(b.avg_volume, 1),
      congestion_hours: fixed(b.congestion_hours, 1),
      incidents: b.incident_count,
    };
    const start = new Date(b.start);
    const label = body.period === 'month' ? `${MONTHS[start.getUTCMonth()]} ${start.getUTCFullYear()}` : b.start.slice(0, 10);
    if (!r.bucket.includes(label)) return `row ${i} is ${r.bucket}, API ${b.start}`;
    if (count(r.events) !== want.events) return `row ${i} events ${r.events}, API ${want.events}`;
    if (r.avg_speed !== want.avg_speed) return `row ${i} speed ${r.avg_speed}, API ${want.avg_speed}`;
    if (r.avg_volume !== want.avg_volume) return `row ${i} volume ${r.avg_volume}, API ${want.avg_volume}`;
    if (r.congestion_hours !== want.congestion_hours) return `row ${i} congestion ${r.congestion_hours}, API ${want.congestion_hours}`;
    if (count(r.incidents) !== want.incidents) return `row ${i} incidents ${r.incidents}, API ${want.incidents}`;
  }
  return null;
}

async function checkSummary(page, baseUrl, period, unit = 'mph', want = {}) {
  await ready(page, 'trend', { period, ...want });
  let body = null;
  await agreeing(
    page,
    `${period} summary table vs /api/analytics/trend`,
    async () => {
      const start = await section(page, 'trend').getAttribute('data-start');
      const end = await section(page, 'trend').getAttribute('data-end');
      body = await api(baseUrl, `/api/analytics/trend?period=${period}&start_date=${start}&end_date=${end}`);
      if (body.start_date !== start || body.end_date !== end) return `API range ${body.start_date}..${body.end_date}`;
      const rows = await tableRows(page, 'summary-table');
      if (!rows) return 'no summary table';
      return compareSummary(rows, body, unit);
    },
  );
  if (!body.buckets.some((b) => b.total_events > 0)) fail(`the ${period} summary shows no traffic at all`);
  return body;
}

// ---- ranking ----------------------------------------------------------------

function rankOrder(bySegment, key, direction) {
  const sign = direction === 'asc' ? 1 : -1;
  const value = (r) => (r[key] == null || !Number.isFinite(r[key]) ? null : r[key]);
  return [...bySegment].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
    } else if (va !== vb) return sign * (va - vb);
    return a.segment_id < b.segment_id ? -1 : a.segment_id > b.segment_id ? 1 : 0;
  });
}

async function checkRanking(page, baseUrl, key, direction) {
  await ready(page, 'ranking', { sort: `${key}:${direction}` });
  let body = null;
  await agreeing(
    page,
    `ranking by ${key} ${direction} vs /api/analytics/summary`,
    async () => {
      const source = await section(page, 'ranking').getAttribute('data-source');
      body = await api(baseUrl, source);
      const rows = await tableRows(page, 'ranking-table');
      if (!rows?.length) return 'no ranking rows';
      const want = rankOrder(body.by_segment, key, direction);
      const shown = rows.map((r) => r.segment_id);
      const expected = want.slice(0, rows.length).map((r) => r.segment_id);
      if (shown.join() !== expected.join()) return `order ${shown.slice(0, 5)}…, API ${expected.slice(0, 5)}…`;
      const top = want[0];
      const r = rows[0];
      if (r.rank !== '1') return `top row rank ${r.rank}`;
      if (r.traffic_score !== fixed(top.traffic_score, 1)) return `top score ${r.traffic_score}, API ${top.traffic_score}`;
      if (r.avg_speed !== speedText(top.avg_speed, 'mph')) return `top speed ${r.avg_speed}, API ${top.avg_speed}`;
      if (count(r.total_events) !== top.total_events) return `top events ${r.total_events}, API ${top.total_events}`;
      if (count(r.incidents) !== top.incidents) return `top incidents ${r.incidents}, API ${top.incidents}`;
      return null;
    },
  );
  return body;
}

// ---- accuracy ---------------------------------------------------------------

async function checkAccuracy(page, baseUrl) {
  await ready(page, 'accuracy');
  await agreeing(
    page,
    'accuracy table vs /api/predictions/accuracy',
    async () => {
      const source = await section(page, 'accuracy').getAttribute('data-source');
      const trendStart = await section(page, 'trend').getAttribute('data-start');
      if (!source.includes(`start_time=${encodeURIComponent(trendStart)}`)) return `accuracy ${source} is not over the summary range`;
      const body = await api(baseUrl, source);
      if (body.by_horizon.length === 0) return 'the API has scored no forecast yet';
      const rows = await tableRows(page, 'accuracy-table');
      if (!rows) return 'no accuracy table';
      if (rows.length !== body.by_horizon.length) return `${rows.length} rows, API ${body.by_horizon.length} horizons`;
      for (const [i, h] of body.by_horizon.entries()) {
        const r = rows[i];
        if (r.horizon !== `${h.horizon_minutes} min`) return `row ${i} horizon ${r.horizon}, API ${h.horizon_minutes}`;
        if (count(r.n) !== h.n) return `${h.horizon_minutes} min: n ${r.n}, API ${h.n}`;
        if (r.mae !== fixed(h.speed_mae, 2)) return `${h.horizon_minutes} min: MAE ${r.mae}, API ${h.speed_mae}`;
        if (r.rmse !== fixed(h.speed_rmse, 2)) return `${h.horizon_minutes} min: RMSE ${r.rmse}, API ${h.speed_rmse}`;
        const coverage = h.speed_coverage == null ? '—' : `${(h.speed_coverage * 100).toFixed(1)} %`;
        if (r.coverage !== coverage) return `${h.horizon_minutes} min: coverage ${r.coverage}, API ${coverage}`;
      }
      return null;
    },
    90_000, // the first forecasts are scored a horizon after they are made
  );
}

// ---- exports ----------------------------------------------------------------

async function download(page, testId, artifactDir) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId(testId).click()]);
  const target = path.join(artifactDir, file.suggestedFilename());
  await file.saveAs(target);
  return { name: file.suggestedFilename(), bytes: readFileSync(target) };
}

/** RFC 4180 reader (the page's own writer is unit-tested against the same rules). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (ch !== '\r') cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

async function checkSummaryCsv(page, artifactDir) {
  const { name, bytes } = await download(page, 'csv-summary', artifactDir);
  if (!/^trafficcast-summary-day-\d{4}-\d{2}-\d{2}(_\d{4}-\d{2}-\d{2})?\.csv$/.test(name)) fail(`summary CSV named ${name}`);
  if (bytes[0] !== 0xef || bytes[1] !== 0xbb || bytes[2] !== 0xbf) fail('the summary CSV has no UTF-8 byte-order mark');
  const [header, ...rows] = parseCsv(bytes.subarray(3).toString('utf8'));
  const wantHeader = [
    'bucket_start (UTC date)',
    'events (count)',
    'avg_speed (mph)',
    'avg_volume (vehicles per 5 min)',
    'congestion (segment-hours at LOS E/F)',
    'incidents (count)',
  ];
  if (header.join('|') !== wantHeader.join('|')) fail(`summary CSV header ${header}`);
  const table = await tableRows(page, 'summary-table');
  if (rows.length !== table.length) fail(`summary CSV has ${rows.length} rows, the table ${table.length}`);
  for (const [i, [date, events, speed, volume, congestion, incidents]] of rows.entries()) {
    const r = table[i];
    const num = (t) => (t === '' ? null : Number(t));
    if (!r.bucket.includes(date)) fail(`CSV row ${i} date ${date}, table ${r.bucket}`);
    if (Number(events) !== count(r.events)) fail(`CSV row ${i} events ${events}, table ${r.events}`);
    if (speedText(num(speed), 'mph') !== r.avg_speed) fail(`CSV row ${i} speed ${speed}, table ${r.avg_speed}`);
    if (fixed(num(volume), 1) !== r.avg_volume) fail(`CSV row ${i} volume ${volume}, table ${r.avg_volume}`);
    if (fixed(num(congestion), 1) !== r.congestion_hours) fail(`CSV row ${i} congestion ${congestion}, table ${r.congestion_hours}`);
    if (Number(incidents) !== count(r.incidents)) fail(`CSV row ${i} incidents ${incidents}, table ${r.incidents}`);
    if (/,/.test(events) || /mph/.test(speed)) fail(`CSV row ${i} numbers are formatted: ${events}, ${speed}`);
  }
  return rows.length;
}

async function checkRankingCsv(page, artifactDir, total) {
  const { name, bytes } = await download(page, 'csv-ranking', artifactDir);
  if (!/^trafficcast-ranking-[\d_-]+\.csv$/.test(name)) fail(`ranking CSV named ${name}`);
  const [header, ...rows] = parseCsv(bytes.subarray(3).toString('utf8'));
  if (header[0] !== 'rank' || header[2] !== 'segment_id') fail(`ranking CSV header ${header}`);
  if (rows.length !== total) fail(`ranking CSV has ${rows.length} rows, the API ${total} segments`);
  const table = await tableRows(page, 'ranking-table');
  for (const [i, r] of table.entries()) {
    if (rows[i][2] !== r.segment_id || rows[i][0] !== r.rank) fail(`ranking CSV row ${i} is ${rows[i][2]}, table ${r.segment_id}`);
    if (rows[i][1] !== r.name && rows[i][1] !== `'${r.name}`) fail(`ranking CSV row ${i} name ${rows[i][1]}, table ${r.name}`);
  }
}

/** A PDF's text: the file itself plus every Flate stream inflated (page contents are compressed). */
function pdfText(bytes) {
  const raw = bytes.toString('latin1');
  const parts = [raw];
  const streams = /stream\r?\n/g;
  let match;
  while ((match = streams.exec(raw)) !== null) {
    const end = raw.indexOf('endstream', match.index);
    if (end < 0) break;
    try {
      parts.push(inflateSync(bytes.subarray(match.index + match[0].length, end)).toString('latin1'));
    } catch {
      // not a Flate stream
    }
  }
  return parts.join('\n');
}

async function checkPdf(page, testId, artifactDir, titles, minBytes) {
  const { name, bytes } = await download(page, testId, artifactDir);
  if (!name.endsWith('.pdf')) fail(`${testId} saved ${name}`);
  if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-') fail(`${name} does not start with %PDF-`);
  if (bytes.length < minBytes || bytes.length > 20_000_000) fail(`${name} is ${bytes.length} bytes`);
  const text = pdfText(bytes);
  for (const title of titles) {
    if (!text.includes(title)) fail(`${name} lacks "${title}"`);
  }
  if (!text.includes('/Subtype /Image')) fail(`${name} has no chart image`);
  await waitFor(
    page,
    ({ id, file }) => document.querySelector(`[data-testid="${id}-status"]`)?.textContent === `Saved ${file}`,
    { id: testId, file: name },
    `${testId} never reported the saved file`,
  );
  const button = page.getByTestId(testId);
  if (await button.isDisabled()) fail(`${testId} stays disabled after the PDF is saved`);
  return { name, size: bytes.length };
}

// ---- the run ----------------------------------------------------------------

await runPageCheck('analytics', async ({ page, baseUrl, artifactDir, screenshot }) => {
  await openLive(page, baseUrl, '/analytics');

  // Day buckets: the table equals the API over the range the page shows.
  const days = await checkSummary(page, baseUrl, 'day');
  if (days.buckets.length !== 14) fail(`the default day range has ${days.buckets.length} buckets, not 14`);
  await waitFor(page, () => document.querySelector('[data-testid="trend-chart"] canvas'), null, 'no summary chart');
  await screenshot('analytics');

  // Ranking: worst traffic score first, then sorted by clicking headers.
  const ranking = await checkRanking(page, baseUrl, 'traffic_score', 'asc');
  const rows = (await tableRows(page, 'ranking-table')).length;
  if (rows !== Math.min(TOP_N, ranking.by_segment.length)) fail(`the ranking shows ${rows} rows, not the top ${TOP_N}`);
  await page.locator('[data-testid="ranking-table"] [data-sort-key="avg_speed"]').click();
  await checkRanking(page, baseUrl, 'avg_speed', 'asc');
  await page.locator('[data-testid="ranking-table"] [data-sort-key="avg_speed"]').click();
  await checkRanking(page, baseUrl, 'avg_speed', 'desc');
  const sortState = await page.locator('[data-testid="ranking-table"] th[data-col="avg_speed"]').getAttribute('aria-sort');
  if (sortState !== 'descending') fail(`aria-sort reads ${sortState}`);
  // By keyboard: focus the incidents header button and press Enter.
  await page.locator('[data-testid="ranking-table"] [data-sort-key="incidents"]').focus();
  await page.keyboard.press('Enter');
  await checkRanking(page, baseUrl, 'incidents', 'desc');
  await page.locator('[data-testid="ranking-table"] [data-sort-key="traffic_score"]').click();
  const full = await checkRanking(page, baseUrl, 'traffic_score', 'asc');
  if (full.by_segment.length > TOP_N) {
    await page.getByTestId('ranking-show-all').click();
    await waitFor(
      page,
      (n) => document.querySelectorAll('[data-testid="ranking-table"] tbody tr').length === n,
      full.by_segment.length,
      '"show all" did not show every segment',
    );
  }
  const href = await page.locator('[data-testid="ranking-table"] tbody tr td[data-col="name"] a').first().getAttribute('href');
  const firstId = await page.locator('[data-testid="ranking-table"] tbody tr td[data-col="segment_id"]').first().innerText();
  if (href !== `/segments/${encodeURIComponent(firstId)}`) fail(`the top row links to ${href}`);
  await checkRankingCsv(page, artifactDir, full.by_segment.length);
  await section(page, 'ranking').screenshot({ path: path.join(artifactDir, 'analytics-ranking.png') });

  // Accuracy over the same range.
  await checkAccuracy(page, baseUrl);
  await section(page, 'accuracy').scrollIntoViewIfNeeded();
  await screenshot('analytics-accuracy');

  // System performance: counters from /api/system/stats, components from /health.
  await ready(page, 'system');
  const stats = await api(baseUrl, '/api/system/stats');
  const counters = await tableRows(page, 'counters-table');
  const ingested = counters.find((r) => r.metric === 'Events ingested');
  if (!ingested || count(ingested.value) <= 0 || count(ingested.value) > stats.events_total) {
    fail(`events ingested shows ${ingested?.value}, API ${stats.events_total}`);
  }
  // /health answers 503 with the same body when a part is down: still the figures to compare.
  const health = await (await fetch(new URL('/health', baseUrl))).json();
  const components = (await tableRows(page, 'health-table')).map((r) => r.component).sort();
  if (components.join() !== Object.keys(health.checks).sort().join()) fail(`health components ${components}`);

  // CSV of the day table, then PDFs of one section and of the whole page.
  const csvRows = await checkSummaryCsv(page, artifactDir);
  if (csvRows !== 14) fail(`the summary CSV has ${csvRows} rows`);
  await checkPdf(page, 'pdf-summary', artifactDir, ['(Traffic summary by day)', 'Average speed and volume'], 8_000);
  await checkPdf(
    page,
    'pdf-page',
    artifactDir,
    ['(Analytics report)', '(Traffic summary by day)', '(Segment performance ranking)', '(Prediction accuracy)', '(System performance)'],
    20_000,
  );
  await section(page, 'system').scrollIntoViewIfNeeded();
  await screenshot('analytics-system');

  // Week buckets: the range and the buckets change, weeks start on Mondays.
  // click, not check(): the radio turns on once the router has moved to the new URL.
  await page.getByTestId('period-week').click();
  const weeks = await checkSummary(page, baseUrl, 'week');
  if (weeks.buckets.length !== 12) fail(`the default week range has ${weeks.buckets.length} buckets`);
  if (weeks.buckets.some((b) => new Date(b.start).getUTCDay() !== 1)) fail('a week bucket does not start on a Monday');
  if (new URL(page.url()).searchParams.get('period') !== 'week') fail(`the URL ${page.url()} does not keep the period`);
  await section(page, 'trend').scrollIntoViewIfNeeded();
  await screenshot('analytics-week');

  // A chosen range: the last three days of the day view.
  await page.getByTestId('period-day').click();
  await checkSummary(page, baseUrl, 'day');
  const to = await page.getByTestId('range-to').inputValue();
  const from = new Date(Date.parse(`${to}T00:00:00Z`) - 2 * 86_400_000).toISOString().slice(0, 10);
  await page.getByTestId('range-from').fill(from);
  const chosen = await checkSummary(page, baseUrl, 'day', 'mph', { buckets: '3' });
  if (chosen.buckets.length !== 3 || chosen.start_date !== `${from}T00:00:00Z`) {
    fail(`the range ${from}..${to} gave ${chosen.buckets.length} buckets from ${chosen.start_date}`);
  }

  // Month buckets, in km/h.
  await page.evaluate(() =>
    localStorage.setItem('trafficcast.preferences', JSON.stringify({ unit: 'kmh', fastAboveMph: 60, slowBelowMph: 30 })),
  );
  await openLive(page, baseUrl, '/analytics?period=month');
  const months = await checkSummary(page, baseUrl, 'month', 'kmh');
  if (months.buckets.length !== 12) fail(`the default month range has ${months.buckets.length} buckets`);
  const speedHeader = await page.locator('[data-testid="summary-table"] th[data-col="avg_speed"]').innerText();
  if (!speedHeader.includes('km/h')) fail(`the speed column reads "${speedHeader}" in km/h mode`);
  await screenshot('analytics-month');
});
