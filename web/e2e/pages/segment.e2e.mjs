#!/usr/bin/env node
// Browser check of the segment detail page (/segments/:id): header, charts drawn
// with data, statistics and forecast error that match the API, the horizon and
// range selectors, neighbour links, the imputed-window count and forecast input
// fill that match the API, and the not-found state.
//
//   node e2e/pages/segment.e2e.mjs <baseUrl> <artifactDir>
import { api, eventually, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

const MISSING_ID = 'no-such-segment-e2e';
const COLORS = { observed: [0x4e, 0xa8, 0xff], past: [0xff, 0xb8, 0x6b], fan: [0xc0, 0x84, 0xfc] };

/** A segment with neighbours both ways, preferring one that has alerts to show. */
async function pickSegment(baseUrl) {
  const { segments } = await api(baseUrl, '/api/segments');
  if (segments.length < 2) fail('the server has fewer than two segments');
  const alerts = (await api(baseUrl, '/api/alerts?limit=1000')).alerts;
  const alerted = new Set(alerts.map((a) => a.segment_id));
  const ordered = [...segments.filter((s) => alerted.has(s.segment_id)), ...segments];
  for (const candidate of ordered.slice(0, 40)) {
    const detail = await api(baseUrl, `/api/segments/${encodeURIComponent(candidate.segment_id)}`);
    if (detail.upstream.length > 0 && detail.downstream.length > 0) return detail;
  }
  fail('no segment with both upstream and downstream neighbours among the first 40');
}

/** Runs in the page: pixels of each series colour drawn on a chart panel's canvas. */
function countSeriesPixels([testId, colors]) {
  const canvas = document.querySelector(`[data-testid="${testId}"] canvas`);
  if (!canvas || canvas.width === 0) return null;
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const counts = Object.fromEntries(Object.keys(colors).map((k) => [k, 0]));
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] < 200) continue;
    for (const [name, [r, g, b]] of Object.entries(colors)) {
      if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) counts[name] += 1;
    }
  }
  return counts;
}

const num = (value) => (value === '' || value === null ? null : Number(value));

async function checkStatistics(page, summaryBody, segmentId, baseUrl) {
  const row = summaryBody.by_segment.find((r) => r.segment_id === segmentId);
  if (!row) fail(`the page's summary has no row for ${segmentId}`);
  for (const key of ['avg_speed', 'avg_volume', 'congestion_hours', 'incidents', 'traffic_score', 'total_events']) {
    const shown = num(await page.getByTestId(`stat-${key}`).getAttribute('data-value'));
    const want = row[key];
    if (want === null ? shown !== null : Math.abs(shown - want) > 1e-9) fail(`statistic ${key}: page ${shown}, API ${want}`);
  }
  const speedText = await page.getByTestId('stat-avg_speed').locator('dd').innerText();
  if (speedText.trim() !== `${Math.round(row.avg_speed)} mph`) fail(`mean speed reads "${speedText}" for ${row.avg_speed}`);
  const hoursText = await page.getByTestId('stat-congestion_hours').locator('dd').innerText();
  if (hoursText.trim() !== `${row.congestion_hours.toFixed(2)} h`) fail(`congestion reads "${hoursText}"`);
  // The same question asked again: only windows closed since may move the mean.
  const stats = page.getByTestId('segment-stats').locator('dl');
  const [start, end] = [await stats.getAttribute('data-start'), await stats.getAttribute('data-end')];
  const query = new URLSearchParams({ segment_ids: segmentId, start_date: start, end_date: end });
  const again = (await api(baseUrl, `/api/analytics/summary?${query}`)).by_segment[0];
  if (Math.abs(again.avg_speed - row.avg_speed) > 1) fail(`the summary moved: ${again.avg_speed} vs ${row.avg_speed}`);
}

await runPageCheck('segment', async ({ page, baseUrl, screenshot, problems }) => {
  const segment = await pickSegment(baseUrl);
  const id = segment.segment_id;
  const summaryResponse = page.waitForResponse(
    (r) => r.url().includes('/api/analytics/summary') && new URL(r.url()).searchParams.get('segment_ids') === id,
  );
  await openLive(page, baseUrl, `/segments/${encodeURIComponent(id)}`);

  // Header: who this is.
  await waitFor(page, () => document.querySelector('[data-testid="segment-name"]'), null, 'no segment header');
  const name = (await page.getByTestId('segment-name').innerText()).trim();
  if (name !== (segment.name || id)) fail(`the header names "${name}", the API "${segment.name}"`);
  if ((await page.getByTestId('segment-id').innerText()).trim() !== id) fail('the header does not show the id');
  if (!(await page.title()).includes(name)) fail(`the title "${await page.title()}" does not name the segment`);
  const facts = await page.locator('.segment-facts').innerText();
  for (const fact of [segment.road, `${segment.lanes}`, `${Math.round(segment.free_flow_speed)} mph`]) {
    if (!facts.includes(fact)) fail(`the facts "${facts}" miss "${fact}"`);
  }

  // Charts drawn with observed data, past forecasts and the current fan.
  await waitFor(
    page,
    () => {
      const speed = document.querySelector('[data-testid="segment-chart-speed"]');
      const volume = document.querySelector('[data-testid="segment-chart-volume"]');
      return (
        speed &&
        volume &&
        Number(speed.dataset.observedPoints) > 10 &&
        Number(volume.dataset.observedPoints) > 10 &&
        Number(speed.dataset.pastPoints) > 10 &&
        Number(speed.dataset.fanPoints) > 1
      );
    },
    null,
    'the charts never got observed data, past forecasts and a fan',
  );
  const history = await api(baseUrl, `/api/segments/${encodeURIComponent(id)}/history?window_minutes=5&limit=36`);
  const observed = Number(await page.getByTestId('segment-chart-speed').getAttribute('data-observed-points'));
  // Imputed windows are drawn as their own series, not as observed points.
  const withSpeed = history.windows.filter((w) => w.mean_speed !== null && w.fill === 'observed').length;
  if (Math.abs(observed - withSpeed) > 2) fail(`the chart has ${observed} observed points, the API ${withSpeed} windows`);
  await eventually('series drawn on the canvases', async () => {
    const speed = await page.evaluate(countSeriesPixels, ['segment-chart-speed', COLORS]);
    const volume = await page.evaluate(countSeriesPixels, ['segment-chart-volume', { observed: COLORS.observed }]);
    if (!speed || !volume) return 'a chart has no canvas';
    for (const [series, pixels] of Object.entries(speed)) if (pixels < 30) return `speed ${series}: ${pixels} pixels`;
    return volume.observed >= 30 ? null : `volume observed: ${volume.observed} pixels`;
  });

  // How many windows of the range were not measured, as the API flags them.
  await eventually('the imputed-window count', async () => {
    const windows = (await api(baseUrl, `/api/segments/${encodeURIComponent(id)}/history?window_minutes=5&limit=36`)).windows;
    const bad = windows.find((w) => !['observed', 'imputed_neighbours', 'imputed_profile', 'missing'].includes(w.fill));
    if (bad) fail(`the API sent a window without a known fill: ${JSON.stringify(bad)}`);
    const imputed = windows.filter((w) => w.fill === 'imputed_neighbours' || w.fill === 'imputed_profile').length;
    const missing = windows.filter((w) => w.fill === 'missing').length;
    const line = page.getByTestId('segment-fill-summary');
    const shown = {
      total: num(await line.getAttribute('data-total')),
      imputed: num(await line.getAttribute('data-imputed')),
      missing: num(await line.getAttribute('data-missing')),
    };
    if (shown.total !== windows.length || shown.imputed !== imputed || shown.missing !== missing) {
      return `page ${JSON.stringify(shown)}, API ${JSON.stringify({ total: windows.length, imputed, missing })}`;
    }
    const text = (await line.innerText()).trim();
    const want = `${imputed} of ${windows.length} windows imputed in this range`;
    if (!text.startsWith(want)) return `the line reads "${text}", want "${want}…"`;
    const imputedPoints = num(await page.getByTestId('segment-chart-speed').getAttribute('data-imputed-points'));
    const imputedWithSpeed = windows.filter((w) => w.fill.startsWith('imputed') && w.mean_speed !== null).length;
    return imputedPoints === imputedWithSpeed ? null : `chart ${imputedPoints} imputed points, API ${imputedWithSpeed}`;
  });

  // The current forecast says what its input was.
  await eventually('the forecast input fill', async () => {
    const latest = await api(baseUrl, `/api/predictions/latest?segment_id=${encodeURIComponent(id)}`);
    const newest = latest.predictions.reduce((a, p) => (!a || p.issued_at > a.issued_at ? p : a), null);
    const shown = await page.getByTestId('segment-fan-input').getAttribute('data-input-fill');
    const want = newest?.input_fill ?? '';
    if (shown !== want) return `page input_fill "${shown}", API "${want}"`;
    const text = await page.getByTestId('segment-fan-input').innerText();
    const imputedInput = want === 'imputed_neighbours' || want === 'imputed_profile';
    return imputedInput === text.includes('from imputed input') ? null : `the note reads "${text}" for ${want}`;
  });

  // Statistics and this segment's forecast error match the API.
  const summary = await summaryResponse;
  await waitFor(page, () => document.querySelector('[data-testid="stat-avg_speed"]'), null, 'no statistics shown');
  await checkStatistics(page, await summary.json(), id, baseUrl);
  await eventually('forecast error per horizon', async () => {
    const accuracy = await api(baseUrl, `/api/predictions/accuracy?segment_id=${encodeURIComponent(id)}`);
    const main = accuracy.by_horizon.filter((h) => [15, 30, 45, 60].includes(h.horizon_minutes));
    if (main.length === 0) return 'nothing scored for this segment';
    for (const h of main) {
      const mae = num(await page.getByTestId(`segment-mae-${h.horizon_minutes}`).getAttribute('data-mae'));
      if (Math.abs(mae - h.speed_mae) > 1e-9) return `+${h.horizon_minutes}: page ${mae}, API ${h.speed_mae}`;
    }
    return null;
  }, 75_000);

  // Its alerts, as the API lists them.
  await eventually('alerts of the segment', async () => {
    const all = (await api(baseUrl, '/api/alerts?limit=1000')).alerts.filter((a) => a.segment_id === id);
    const shown = await page.getByTestId('segment-alert').count();
    return shown === Math.min(all.length, 50) ? null : `page ${shown} alerts, API ${all.length}`;
  });
  await screenshot('segment');

  // The horizon selector asks for the forecasts of that horizon and draws them.
  const past30 = page.waitForResponse(
    (r) => r.url().includes(`/api/segments/${encodeURIComponent(id)}/forecasts`) && r.url().includes('horizon_minutes=30'),
  );
  await page.getByTestId('horizon-selector').getByRole('button', { name: '+30 min' }).click();
  const response = await past30;
  if (!response.ok()) fail(`the 30-minute forecasts answered ${response.status()}`);
  const body = await response.json();
  const targets = new Set(body.forecasts.filter((f) => f.predicted_speed !== null).map((f) => f.target_time));
  await eventually('the 30-minute past forecasts on the chart', async () => {
    const shown = Number(await page.getByTestId('segment-chart-speed').getAttribute('data-past-points'));
    const legend = await page.getByTestId('segment-chart-speed').locator('.u-legend').innerText();
    if (!legend.includes('+30 min')) return `the legend reads "${legend}"`;
    // Issues pushed live since the request add points; none go missing.
    return shown >= targets.size && shown <= targets.size + 3 ? null : `chart ${shown} points, API ${targets.size}`;
  });
  if ((await page.getByTestId('horizon-selector').getByRole('button', { pressed: true }).innerText()) !== '+30 min') {
    fail('the +30 min button is not marked pressed');
  }

  // The range selector (by keyboard) asks for 12 hours of windows.
  const history12 = page.waitForRequest((r) => r.url().includes('/history?') && r.url().includes('limit=144'));
  await page.getByTestId('range-selector').getByRole('button', { name: '12 h' }).focus();
  await page.keyboard.press('Enter');
  await history12;
  await waitFor(
    page,
    () => Number(document.querySelector('[data-testid="segment-chart-speed"]')?.dataset.observedPoints) > 36,
    null,
    'the 12-hour range drew no more than 3 hours',
  );
  await screenshot('segment-12h-30min');

  // A neighbour link opens that segment's page.
  const neighbourId = segment.downstream[0];
  const neighbour = await api(baseUrl, `/api/segments/${encodeURIComponent(neighbourId)}`);
  await page.locator(`[data-testid="neighbour-downstream"][data-segment-id="${neighbourId}"]`).click();
  await page.waitForURL((url) => url.pathname === `/segments/${encodeURIComponent(neighbourId)}`);
  await waitFor(
    page,
    (want) => document.querySelector('[data-testid="segment-name"]')?.textContent?.trim() === want,
    neighbour.name || neighbourId,
    'the neighbour page never named the neighbour',
  );
  if (!(await page.title()).includes(neighbour.name || neighbourId)) fail('the title did not follow the neighbour');
  const back = page.locator(`[data-testid="neighbour-upstream"][data-segment-id="${id}"]`);
  if ((await back.count()) !== 1) fail('the neighbour does not link back upstream to the first segment');
  await waitFor(
    page,
    () => Number(document.querySelector('[data-testid="segment-chart-speed"]')?.dataset.observedPoints) > 0,
    null,
    'the neighbour page drew no data',
  );
  await screenshot('segment-neighbour');

  // A silent detector, as the history would report it (the fixture's detectors all
  // report): the page draws the imputed windows apart, counts them and flags the newest.
  const fills = { 10: 'imputed_neighbours', 11: 'imputed_neighbours', 12: 'imputed_neighbours', 13: 'imputed_profile', 15: 'missing' };
  const HISTORY = '**/api/segments/*/history?**';
  let servedNewest = '';
  await page.route(HISTORY, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    const n = body.windows.length;
    servedNewest = body.windows.at(-1)?.window_end ?? '';
    body.windows.forEach((w, i) => {
      const fill = i === n - 1 ? 'imputed_profile' : fills[n - 1 - i];
      if (!fill) return;
      w.fill = fill;
      w.count = 0;
      if (fill === 'missing') w.mean_speed = w.harmonic_mean_speed = w.volume = w.occupancy = null;
    });
    await route.fulfill({ response, json: body });
  });
  // …and forecasts issued from such a window.
  const LATEST = '**/api/predictions/latest?**';
  let servedIssue = '';
  await page.route(LATEST, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    for (const p of body.predictions) {
      p.input_fill = 'imputed_neighbours';
      if (p.issued_at > servedIssue) servedIssue = p.issued_at;
    }
    await route.fulfill({ response, json: body });
  });
  /** The forecast note names the imputed input, unless a live issue (measured input) replaced it meanwhile. */
  const checkInputNote = async (locator, where) => {
    const shown = await locator.waitFor({ state: 'attached', timeout: 10_000 }).then(
      async () => (await locator.innerText()).includes('from imputed input (neighbours)'),
      () => false,
    );
    if (shown) return;
    const latest = await api(baseUrl, `/api/predictions/latest?segment_id=${encodeURIComponent(id)}`);
    const newest = latest.predictions.reduce((a, p) => (p.issued_at > a ? p.issued_at : a), '');
    if (Date.parse(newest) <= Date.parse(servedIssue)) fail(`${where} does not say its forecast came from imputed input`);
  };
  await openLive(page, baseUrl, `/segments/${encodeURIComponent(id)}`);
  await waitFor(
    page,
    () => document.querySelector('[data-testid="segment-fill-summary"]')?.dataset.imputed === '5',
    null,
    'the page did not count the 5 imputed windows',
  );
  const fillText = (await page.getByTestId('segment-fill-summary').innerText()).trim();
  const wantFill = '5 of 36 windows imputed in this range (3 from neighbours, 2 from the usual profile); 1 missing';
  if (fillText !== wantFill) fail(`the fill line reads "${fillText}", want "${wantFill}"`);
  const imputedPoints = Number(await page.getByTestId('segment-chart-speed').getAttribute('data-imputed-points'));
  if (imputedPoints !== 5) fail(`the chart draws ${imputedPoints} imputed points, want 5`);
  await eventually('imputed series drawn apart', async () => {
    const pixels = await page.evaluate(countSeriesPixels, ['segment-chart-speed', { imputed: [0x5e, 0xea, 0xd4] }]);
    return pixels && pixels.imputed >= 30 ? null : `imputed: ${pixels?.imputed} pixels`;
  });
  const legend = await page.getByTestId('segment-chart-speed').locator('.u-legend').innerText();
  if (!legend.includes('Imputed (neighbours/profile)')) fail(`the legend has no imputed entry: "${legend}"`);
  // The newest window is flagged next to the speed, unless a live window replaced it meanwhile.
  const note = page.getByTestId('segment-latest-fill');
  if ((await note.count()) === 1 && !(await note.innerText()).includes('estimated from the usual profile')) {
    fail(`the latest-window note reads "${await note.innerText()}"`);
  }
  await checkInputNote(page.getByTestId('segment-fan-input'), 'the segment page');
  await screenshot('segment-imputed');

  // The map's side panel flags the same newest window next to the speed.
  await openLive(page, baseUrl, '/map');
  const search = page.getByRole('combobox', { name: /find a segment/i });
  await search.fill(segment.name || id);
  const option = page.getByRole('option', { name: new RegExp(id) });
  await option.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => fail(`the map search did not list ${id}`));
  const optionIndex = await page.getByRole('option').evaluateAll((els, want) => els.findIndex((el) => el.textContent.includes(want)), id);
  for (let i = 0; i <= optionIndex; i++) await search.press('ArrowDown');
  await search.press('Enter');
  const panel = page.locator(`aside.panel[data-segment-id="${id}"]`);
  await panel.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => fail(`the map panel for ${id} did not open`));
  const panelNote = panel.getByTestId('panel-latest-fill');
  const flagged = await panelNote.waitFor({ state: 'visible', timeout: 10_000 }).then(
    () => true,
    () => false,
  );
  if (flagged) {
    if ((await panelNote.getAttribute('data-fill')) !== 'imputed_profile') fail('the map panel names the wrong fill');
    if (!(await panelNote.innerText()).includes('estimated from the usual profile')) {
      fail(`the map panel's note reads "${await panelNote.innerText()}"`);
    }
  } else {
    // Excused only if a live (measured) window has since become the newest.
    const newest = (await api(baseUrl, `/api/segments/${encodeURIComponent(id)}/history?window_minutes=5&limit=1`)).windows[0];
    if (!newest || Date.parse(newest.window_end) <= Date.parse(servedNewest)) fail('the map panel does not flag the imputed window');
  }
  await checkInputNote(panel.getByTestId('panel-forecast-input'), 'the map panel');
  await screenshot('map-panel-imputed');
  await page.unroute(HISTORY);
  await page.unroute(LATEST);

  // An unknown id: a clear not-found state.
  await openLive(page, baseUrl, `/segments/${MISSING_ID}`);
  await waitFor(page, () => document.querySelector('[data-testid="segment-not-found"]'), null, 'no not-found state');
  const text = await page.getByTestId('segment-not-found').innerText();
  if (!text.includes(MISSING_ID)) fail(`the not-found state does not name the id: "${text}"`);
  await screenshot('segment-not-found');
  // The page asked for the unknown segment on purpose; its 404 (the response and
  // Chromium's console line about it) is the expected answer, not a problem.
  // Both name the resource's URL, so nothing else is excused.
  for (let i = problems.length - 1; i >= 0; i--) {
    if (problems[i].includes(`/api/segments/${MISSING_ID}`) && problems[i].includes('404')) problems.splice(i, 1);
  }
});
