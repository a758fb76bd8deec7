#!/usr/bin/env node
// Browser check of the detector-health page (/quality): the counts by status and
// the table match GET /api/quality/detectors; the status filter, the count buttons,
// the segment search and sorting narrow and order the rows as the API data says;
// another day loads that day; a future day is refused; a row opens its segment.
//
//   node e2e/pages/quality.e2e.mjs <baseUrl> <artifactDir>
import { api, eventually, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

const FILTERS = ['all', 'good', 'bad', 'no_data', 'insufficient_data', 'stuck', 'implausible', 'intermittent'];

/** Detectors per filter, as the page should count them from a report. */
function apiCounts(report) {
  const out = { all: report.good + report.bad, good: report.good, bad: report.bad };
  for (const f of FILTERS.slice(3)) out[f] = report.by_reason[f] ?? 0;
  return out;
}

async function shownCounts(page) {
  return page.evaluate((filters) => Object.fromEntries(filters.map((f) => [f, Number(document.querySelector(`[data-testid="count-${f}"]`)?.dataset.count)])), FILTERS);
}

/** Rows on screen: id, reason and the share text. */
async function shownRows(page) {
  return page.locator('[data-testid="quality-table"] tbody tr').evaluateAll((rows) =>
    rows.map((tr) => ({ id: tr.dataset.segmentId, reason: tr.dataset.reason, share: tr.querySelector('[data-col="share"]')?.textContent?.trim() })),
  );
}

const shareText = (share) => `${(Math.floor(share * 1000) / 10).toFixed(1)} %`;

async function ready(page, what) {
  await waitFor(page, () => document.querySelector('[data-testid="quality-page"]')?.dataset.state === 'ready' && document.querySelector('[data-testid="quality-page"]')?.getAttribute('aria-busy') === 'false', null, `${what}: the page never showed a report`);
}

/** Page and API agree on the counts and on every row's reason and share (refreshing until they do: data arrives live). */
async function agrees(page, baseUrl, query, what) {
  await eventually(
    what,
    async () => {
      await ready(page, what);
      const [report, counts, rows] = await Promise.all([api(baseUrl, `/api/quality/detectors${query}`), shownCounts(page), shownRows(page)]);
      const want = apiCounts(report);
      const off = FILTERS.filter((f) => counts[f] !== want[f]);
      if (off.length) return `counts ${JSON.stringify(counts)}, API ${JSON.stringify(want)}`;
      if (rows.length !== Math.min(500, report.detectors.length)) return `${rows.length} rows, API ${report.detectors.length}`;
      const byId = new Map(report.detectors.map((d) => [d.segment_id, d]));
      for (const row of rows) {
        const d = byId.get(row.id);
        if (!d) return `row ${row.id} is not in the API's report`;
        if (d.reason !== row.reason || shareText(d.share) !== row.share) return `${row.id}: ${row.reason} ${row.share}, API ${d.reason} ${shareText(d.share)}`;
      }
      return null;
    },
    30_000,
    { onRetry: () => page.getByTestId('quality-refresh').click() },
  );
  return api(baseUrl, `/api/quality/detectors${query}`);
}

runPageCheck('quality', async ({ page, baseUrl, screenshot }) => {
  await openLive(page, baseUrl, '/quality');
  let report = await agrees(page, baseUrl, '', 'today, all detectors');
  if (report.detectors.length !== 300) fail(`the API reports ${report.detectors.length} detectors, not the fixture's 300`);
  const title = await page.locator('#quality-counts-title').textContent();
  if (!title.includes(report.date)) fail(`the counts are titled "${title}", not for ${report.date}`);
  await screenshot('quality-today');

  // The days with data, and the bounds of the date field, as /api/quality/days has them.
  const days = await api(baseUrl, '/api/quality/days');
  if (days.today !== report.date) fail(`the page opened on ${report.date}, not today ${days.today} (the fixture has data today)`);
  const range = days.first_day === days.last_day ? `Data on ${days.first_day}.` : `Data from ${days.first_day} to ${days.last_day}.`;
  const shownRange = (await page.getByTestId('quality-data-range').textContent()).trim();
  if (shownRange !== range) fail(`the page says "${shownRange}", the API ${JSON.stringify(days)}`);
  const bounds = await page.getByTestId('quality-date').evaluate((input) => [input.min, input.max]);
  if (bounds[0] !== days.earliest || bounds[1] !== days.today) fail(`the date field allows ${bounds}, the API ${days.earliest} to ${days.today}`);

  // Problems come first: no good row above a bad one in the default order.
  const reasons = (await shownRows(page)).map((r) => r.reason);
  const firstGood = reasons.indexOf('ok');
  if (firstGood >= 0 && reasons.slice(firstGood).some((r) => r !== 'ok')) fail('a problem is listed after a good detector');

  // The status select: each filter with detectors shows exactly those.
  for (const filter of ['good', 'bad', ...FILTERS.slice(3)]) {
    await page.getByTestId('quality-filter').selectOption(filter);
    await waitFor(page, (f) => new URL(location.href).searchParams.get('status') === f, filter, `the URL does not keep status=${filter}`);
    // The URL changes first; React draws the filtered rows in the same turn or the next.
    await eventually(`the ${filter} filter`, async () => {
      const rows = await shownRows(page);
      const counts = await shownCounts(page);
      if (rows.length !== Math.min(500, counts[filter])) return `${rows.length} rows, the count says ${counts[filter]}`;
      const wrong = rows.filter((r) => (filter === 'good' ? r.reason !== 'ok' : filter === 'bad' ? r.reason === 'ok' : r.reason !== filter));
      if (wrong.length) return `rows of another status: ${JSON.stringify(wrong.slice(0, 3))}`;
      if (rows.length === 0 && !(await page.getByTestId('quality-no-match').isVisible())) return 'no rows and no message saying so';
      return null;
    }, 10_000);
  }

  // The count buttons filter too, and show which is on.
  const withProblems = FILTERS.slice(3).find((f) => (report.by_reason[f] ?? 0) > 0) ?? 'good';
  await page.getByTestId(`count-${withProblems}`).click();
  await waitFor(
    page,
    (f) => document.querySelector(`[data-testid="count-${f}"]`)?.getAttribute('aria-pressed') === 'true' && document.querySelector('[data-testid="quality-filter"]')?.value === f,
    withProblems,
    'the pressed count button is not marked, or did not set the status filter',
  );
  await page.getByTestId('count-all').click();
  await waitFor(page, () => document.querySelector('[data-testid="quality-filter"]')?.value === 'all', null, 'All detectors did not clear the filter');

  // Search by segment id: the rows are exactly the API's detectors whose id or name holds it.
  report = await api(baseUrl, '/api/quality/detectors');
  const target = report.detectors[17];
  const needle = target.segment_id.slice(0, Math.max(2, target.segment_id.length - 1)).toLowerCase();
  await page.getByTestId('quality-search').pressSequentially(needle, { delay: 20 });
  if ((await page.getByTestId('quality-search').inputValue()) !== needle) fail('the search field lost keystrokes');
  await waitFor(page, (q) => new URL(location.href).searchParams.get('q') === q, needle, 'the search is not kept in the URL');
  await eventually('search', async () => {
    const ids = (await shownRows(page)).map((r) => r.id).sort();
    const want = report.detectors
      .filter((d) => d.segment_id.toLowerCase().includes(needle) || (d.name ?? '').toLowerCase().includes(needle))
      .map((d) => d.segment_id)
      .sort();
    return JSON.stringify(ids) === JSON.stringify(want) ? null : `search "${needle}" shows ${ids.length} rows, API data ${want.length}`;
  });
  if (!(await page.getByTestId('quality-shown').textContent()).startsWith(`${(await shownRows(page)).length} of 300`)) fail('the shown count does not match the rows');
  await screenshot('quality-search');
  await page.getByTestId('quality-search').fill('no-such-segment-zzz');
  await page.getByTestId('quality-no-match').waitFor();
  await page.getByTestId('quality-search').fill('');

  // Sort by share received, both ways.
  const shares = async () => (await shownRows(page)).map((r) => Number.parseFloat(r.share));
  await page.locator('button.quality-sort[data-sort="share"]').click();
  let list = await shares();
  if (list.some((v, i) => i > 0 && v < list[i - 1])) fail('sorting by share did not order the rows up');
  await page.locator('button.quality-sort[data-sort="share"]').click();
  list = await shares();
  if (list.some((v, i) => i > 0 && v > list[i - 1])) fail('sorting by share again did not order the rows down');
  if ((await page.locator('th:has(button[data-sort="share"])').getAttribute('aria-sort')) !== 'descending') fail('the sorted column is not marked descending');

  // Another day: the previous one, as the API has it for that date.
  const day = report.date;
  await page.getByTestId('quality-prev').click();
  const previous = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  await waitFor(page, (d) => new URL(location.href).searchParams.get('date') === d, previous, 'Previous day did not put the date in the URL');
  await agrees(page, baseUrl, `?date=${previous}`, `the previous day ${previous}`);
  if ((await page.getByTestId('quality-date').inputValue()) !== previous) fail('the date field does not show the previous day');
  await screenshot('quality-previous-day');
  await waitFor(page, () => document.querySelector('[data-testid="quality-next"]')?.disabled === false, null, 'Next day is disabled on yesterday');
  await page.getByTestId('quality-today').click();
  await waitFor(page, () => !new URL(location.href).searchParams.has('date'), null, 'Today did not go back to today');
  await waitFor(page, () => document.querySelector('[data-testid="quality-next"]')?.disabled === true, null, 'Next day is enabled on today');

  // A future day is refused in the page (no request the API would refuse).
  const future = new Date(Date.parse(`${day}T00:00:00Z`) + 2 * 86_400_000).toISOString().slice(0, 10);
  await page.getByTestId('quality-date').fill(future);
  await page.getByTestId('quality-date-problem').waitFor();
  if (new URL(page.url()).searchParams.has('date')) fail('a future day was asked for');
  await page.getByTestId('quality-date').fill(day);

  // A row opens its segment's page.
  await ready(page, 'back to today');
  const first = page.locator('[data-testid="quality-table"] tbody tr').first();
  const id = await first.getAttribute('data-segment-id');
  await first.locator('a').click();
  await waitFor(page, (sid) => location.pathname === `/segments/${encodeURIComponent(sid)}`, id, `the row did not open /segments/${id}`);
});
