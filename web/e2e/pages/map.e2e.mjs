#!/usr/bin/env node
// Browser check of the traffic map (/map) against a running trafficcast server.
//
//   node e2e/pages/map.e2e.mjs <baseUrl> <artifactDir>
//
// The map must show live speed bands (checked in the pixels), the purple forecast
// layer with the values /api/traffic/forecast gives, a horizon slider that asks
// for another horizon, search by name that selects a segment, a time control
// whose past window matches /api/traffic/history (and stops live repaints), a
// hover tooltip, and a click that opens the side panel whose link leads to the
// segment's detail page.
import { PNG } from 'pngjs';
import { api, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

/** Pixels of a band colour the map screenshot must contain, for at least MIN_BANDS bands. */
const MIN_PIXELS = 200;
const MIN_BANDS = 2;
const MIN_PURPLE_PIXELS = 400;
/** Euclidean RGB distance under which a pixel counts as a colour (line edges are antialiased). */
const COLOR_TOLERANCE = 40;
const BAND_RGB = {
  fast: [0x1a, 0x98, 0x50],
  moderate: [0xf9, 0xc8, 0x0e],
  slow: [0xd7, 0x30, 0x27],
};
const FORECAST_RGB = [0xb1, 0x5c, 0xff];
/** The dashboard's default band limits (a fresh browser has no saved preferences). */
const FAST_ABOVE = 60;
const SLOW_BELOW = 30;

function speedBand(speed, fastAbove = FAST_ABOVE, slowBelow = SLOW_BELOW) {
  if (speed == null || !Number.isFinite(speed) || speed < 0) return 'nodata';
  if (speed > fastAbove) return 'fast';
  if (speed < slowBelow) return 'slow';
  return 'moderate';
}

/** Counts pixels near each colour inside `clip` (CSS px = screenshot px at scale 1). */
function countPixels(pngBuffer, clip, colours) {
  const png = PNG.sync.read(pngBuffer);
  const counts = Object.fromEntries(Object.keys(colours).map((name) => [name, 0]));
  const x0 = Math.max(0, Math.floor(clip.x));
  const y0 = Math.max(0, Math.floor(clip.y));
  const x1 = Math.min(png.width, Math.ceil(clip.x + clip.width));
  const y1 = Math.min(png.height, Math.ceil(clip.y + clip.height));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      for (const [name, [cr, cg, cb]] of Object.entries(colours)) {
        if (Math.hypot(r - cr, g - cg, b - cb) <= COLOR_TOLERANCE) counts[name] += 1;
      }
    }
  }
  return counts;
}

/** Runs in the page: a point on a rendered segment, clear of the cards, that a click there hits. */
function findTarget(preferId) {
  const hooks = window.__trafficcast;
  if (!hooks) return null;
  const { map, interactiveLayers } = hooks;
  const canvas = map.getCanvas().getBoundingClientRect();
  const blocked = [...document.querySelectorAll('.map-card, .map-search, .map-past-banner, aside.panel')].map((el) =>
    el.getBoundingClientRect(),
  );
  const free = (x, y) =>
    x > canvas.left + 20 &&
    x < canvas.right - 70 &&
    y > canvas.top + 20 &&
    y < canvas.bottom - 40 &&
    !blocked.some((r) => x > r.left - 12 && x < r.right + 12 && y > r.top - 12 && y < r.bottom + 12);
  const layers = interactiveLayers.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
  const hitAt = (x, y) =>
    map.queryRenderedFeatures(
      [
        [x - canvas.left - 5, y - canvas.top - 5],
        [x - canvas.left + 5, y - canvas.top + 5],
      ],
      { layers },
    )[0]?.properties?.segment_id;
  const ids = preferId ? [preferId] : map.queryRenderedFeatures({ layers }).map((f) => f.properties?.segment_id);
  for (const id of ids) {
    const p = typeof id === 'string' ? hooks.pointOf(id) : null;
    if (p && free(p.x, p.y) && hitAt(p.x, p.y) === id) return { id, x: p.x, y: p.y };
  }
  return null;
}

/** Lets MapLibre draw what it was given before a screenshot. */
async function settle(page) {
  await page.evaluate(
    () =>
      new Promise((resolve) => {
        const { map } = window.__trafficcast;
        map.triggerRepaint();
        map.once('idle', resolve);
      }),
  );
}

async function hover(page, target) {
  await page.mouse.move(target.x - 30, target.y - 30);
  await page.mouse.move(target.x, target.y, { steps: 4 });
  const tooltip = page.getByTestId('map-tooltip');
  try {
    await tooltip.waitFor({ state: 'visible', timeout: 5_000 });
  } catch {
    fail(`hovering segment ${target.id} at (${Math.round(target.x)}, ${Math.round(target.y)}) showed no tooltip`);
  }
  return tooltip;
}

await runPageCheck('map', async ({ page, baseUrl, screenshot }) => {
  const catalog = (await api(baseUrl, '/api/segments')).segments;
  await openLive(page, baseUrl, '/map');

  // 1. Live speed bands, drawn.
  await waitFor(
    page,
    () => {
      const hooks = window.__trafficcast;
      return (
        document.querySelector('.map[data-ready="true"]') !== null &&
        hooks !== undefined &&
        hooks.map.queryRenderedFeatures({ layers: ['segments-line', 'segments-point'] }).length > 0
      );
    },
    null,
    'the map never became ready with segments drawn',
  );
  await page
    .waitForFunction(
      (minBands) =>
        ['fast', 'moderate', 'slow'].filter(
          (band) => Number(document.querySelector(`[data-band="${band}"] .band-count`)?.textContent ?? '0') > 0,
        ).length >= minBands,
      MIN_BANDS,
      { timeout: 30_000, polling: 250 },
    )
    .catch(() => undefined); // the pixel check reports it
  await settle(page);
  const mapBox = await page.locator('.map').boundingBox();
  if (!mapBox || mapBox.height < 300) fail(`the map is ${mapBox ? mapBox.height : 0} px high`);
  const bandCounts = countPixels(await screenshot('map'), mapBox, BAND_RGB);
  console.log(`map pixels by band: ${JSON.stringify(bandCounts)}`);
  if (Object.values(bandCounts).filter((n) => n >= MIN_PIXELS).length < MIN_BANDS) {
    fail(`map.png shows fewer than ${MIN_BANDS} speed band colours with >= ${MIN_PIXELS} pixels: ${JSON.stringify(bandCounts)}`);
  }
  // Readings arrive in bursts (the simulator reports every 30 s): wait for one.
  await waitFor(page, () => window.__trafficcast.stats.flushes > 0, null, 'the map never applied a live update');

  // Alert icons: as many segments as have open or acknowledged alerts in /api/alerts.
  await waitFor(
    page,
    async () => {
      const { alerts } = await (await fetch('/api/alerts?limit=2000')).json();
      const active = new Set(
        alerts.filter((a) => (a.state === 'open' || a.state === 'acknowledged') && a.segment_id).map((a) => a.segment_id),
      );
      const label = document.querySelector('.map-layers')?.textContent ?? '';
      return label.includes(`Alerts (${active.size} segment${active.size === 1 ? '' : 's'})`);
    },
    null,
    'the alert count on the map differs from /api/alerts',
  );

  // 2. Forecast layer: purple, with /api/traffic/forecast's values.
  const forecast15 = page.waitForResponse((r) => r.url().includes('/api/traffic/forecast?horizon_minutes=15'));
  await page.getByRole('checkbox', { name: 'Forecast' }).check();
  const layer15 = await (await forecast15).json();
  if (layer15.horizon_minutes !== 15 || layer15.segments.length === 0) {
    fail(`/api/traffic/forecast gave ${layer15.segments.length} rows at +${layer15.horizon_minutes} min`);
  }
  const byId15 = new Map(layer15.segments.map((row) => [row.segment_id, row]));
  await waitFor(
    page,
    (n) => document.querySelector('[data-testid="forecast-status"]')?.textContent?.startsWith(`${n} segments`),
    layer15.segments.length,
    'the forecast status never showed the layer loaded',
  );
  const applied = await page.evaluate(
    (ids) => ids.map((id) => [id, window.__trafficcast.bandsOf(id).fband]),
    layer15.segments.map((row) => row.segment_id),
  );
  const wrong = applied.filter(([id, fband]) => fband !== speedBand(byId15.get(id).predicted_speed));
  if (wrong.length > 0) fail(`forecast bands differ from the API for ${wrong.length} segments, e.g. ${JSON.stringify(wrong[0])}`);
  await page.mouse.move(mapBox.x + mapBox.width - 5, mapBox.y + mapBox.height - 5);
  await settle(page);
  const purple = countPixels(await screenshot('forecast'), mapBox, { purple: FORECAST_RGB }).purple;
  console.log(`forecast purple pixels: ${purple}`);
  if (purple < MIN_PURPLE_PIXELS) fail(`forecast.png has ${purple} purple pixels, expected >= ${MIN_PURPLE_PIXELS}`);

  // 3. Hover: the tooltip names the segment and shows its forecast as the API gave it.
  const target = await page.evaluate(findTarget, null);
  if (!target) fail('no rendered segment found to hover');
  const tooltip = await hover(page, target);
  const hoveredId = await tooltip.getAttribute('data-segment-id');
  const hovered = catalog.find((s) => s.segment_id === hoveredId);
  if (!hovered) fail(`the tooltip names ${hoveredId}, not a segment of /api/segments`);
  const tipText = await tooltip.innerText();
  if (!tipText.includes(hovered.name) || !tipText.includes(hoveredId)) {
    fail(`the tooltip "${tipText}" lacks the name "${hovered.name}" or id ${hoveredId}`);
  }
  if (!/^\d+ mph$|^—$/.test((await page.getByTestId('tooltip-speed').innerText()).trim())) {
    fail(`the tooltip speed is not in mph: ${await page.getByTestId('tooltip-speed').innerText()}`);
  }
  const row = byId15.get(hoveredId);
  const expected =
    row && row.predicted_speed != null
      ? `${Math.round(row.predicted_speed)} mph` +
        (row.speed_lower != null && row.speed_upper != null
          ? ` (${Math.round(row.speed_lower)}–${Math.round(row.speed_upper)} mph)`
          : '')
      : '—';
  const shownForecast = (await page.getByTestId('tooltip-forecast').innerText()).trim();
  if (shownForecast !== expected) fail(`tooltip forecast for ${hoveredId} is "${shownForecast}", the API says "${expected}"`);
  if (!tipText.includes('+15 min')) fail(`the tooltip does not name the +15 min horizon: "${tipText}"`);
  console.log(`tooltip on ${hoveredId}: forecast ${shownForecast}`);

  // 4. The horizon slider asks for another horizon.
  const forecast30 = page.waitForRequest((r) => r.url().includes('/api/traffic/forecast?horizon_minutes=30'));
  const slider = page.getByLabel(/Horizon/);
  await slider.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  const layer30 = await (await (await forecast30).response()).json();
  if (layer30.horizon_minutes !== 30) fail(`moving the slider to +30 min fetched horizon ${layer30.horizon_minutes}`);
  if ((await page.getByTestId('horizon-value').innerText()).trim() !== '+30 min') fail('the horizon label did not move to +30 min');
  const probe = layer30.segments[0];
  await waitFor(
    page,
    ([id, band]) => window.__trafficcast.bandsOf(id).fband === band,
    [probe.segment_id, speedBand(probe.predicted_speed)],
    `segment ${probe.segment_id} did not take its +30 min forecast band`,
  );
  await page.getByRole('checkbox', { name: 'Forecast' }).uncheck();

  // 5. The time control shows a past window as /api/traffic/history gives it, without live repaints.
  const latestResponse = page.waitForResponse((r) => r.url().endsWith('/api/traffic/history'));
  await page.getByRole('button', { name: 'Past', exact: true }).click();
  const latest = await (await latestResponse).json();
  if (!latest.latest || !latest.earliest) fail('/api/traffic/history has no stored windows');
  const wantStart = Date.parse(latest.window_start) - 30 * 60_000;
  const atResponse = page.waitForResponse((r) => r.url().includes('/api/traffic/history?at='));
  const timeSlider = page.getByRole('slider', { name: 'Time of the shown window' });
  await timeSlider.focus();
  for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowLeft');
  const pastResponse = await atResponse;
  const shown = await pastResponse.json();
  const askedAt = new URL(pastResponse.url()).searchParams.get('at');
  if (Date.parse(shown.window_start) !== wantStart) {
    fail(`six steps back asked for the window at ${shown.window_start}, expected ${new Date(wantStart).toISOString()}`);
  }
  const independent = await api(baseUrl, `/api/traffic/history?at=${encodeURIComponent(askedAt)}`);
  const compared = independent.segments.find((r) => r.mean_speed != null) ?? fail('the past window has no speeds');
  const pageRow = shown.segments.find((r) => r.segment_id === compared.segment_id);
  if (!pageRow || pageRow.mean_speed !== compared.mean_speed) {
    fail(`the page got ${JSON.stringify(pageRow)} for ${compared.segment_id}, the API ${JSON.stringify(compared)}`);
  }
  const speeds = new Map(shown.segments.map((r) => [r.segment_id, r.mean_speed]));
  await waitFor(
    page,
    ([id, band]) => window.__trafficcast.bandsOf(id).band === band,
    [compared.segment_id, speedBand(compared.mean_speed)],
    `segment ${compared.segment_id} does not show its past band`,
  );
  const pastBands = await page.evaluate(
    (ids) => ids.map((id) => [id, window.__trafficcast.bandsOf(id).band]),
    catalog.map((s) => s.segment_id),
  );
  const off = pastBands.filter(([id, band]) => band !== speedBand(speeds.get(id)));
  if (off.length > 0) fail(`${off.length} segments do not show the past window's band, e.g. ${JSON.stringify(off[0])}`);
  const banner = (await page.locator('.map-past-banner').innerText()).replace(/\s+/g, ' ');
  const hhmm = shown.window_start.slice(11, 16);
  if (!banner.includes(hhmm)) fail(`the banner "${banner}" does not name the window starting ${hhmm}`);
  // Wait for the live store to take new readings; the map must not apply them.
  const [flushesBefore, versionBefore] = await page.evaluate(() => [
    window.__trafficcast.stats.flushes,
    window.__trafficcast.liveVersion(),
  ]);
  await waitFor(
    page,
    (v) => window.__trafficcast.liveVersion() > v,
    versionBefore,
    'no live reading arrived while looking at the past',
  );
  const flushesAfter = await page.evaluate(() => window.__trafficcast.stats.flushes);
  if (flushesAfter !== flushesBefore) fail(`live updates repainted the map ${flushesAfter - flushesBefore} times while in the past`);
  const stillPast = await page.evaluate(
    (ids) => ids.map((id) => [id, window.__trafficcast.bandsOf(id).band]),
    catalog.map((s) => s.segment_id),
  );
  if (JSON.stringify(stillPast) !== JSON.stringify(pastBands)) fail('live readings changed the past window on the map');
  await page.mouse.move(mapBox.x + mapBox.width - 5, mapBox.y + mapBox.height - 5);
  await settle(page);
  const pastCounts = countPixels(await screenshot('history'), mapBox, BAND_RGB);
  console.log(`history ${shown.window_start}: ${shown.segments.length} segments, pixels ${JSON.stringify(pastCounts)}`);
  if (Object.values(pastCounts).filter((n) => n >= MIN_PIXELS).length < 1) fail('history.png shows no band colours');
  await page.getByRole('button', { name: 'Back to live' }).click();
  await waitFor(
    page,
    (before) => window.__trafficcast.stats.flushes > before,
    flushesAfter,
    'back in live mode the map received no live update',
  );

  // 6. Search by name selects the segment.
  const wanted = catalog[Math.floor(catalog.length / 3)];
  const search = page.getByRole('combobox', { name: /find a segment/i });
  await search.fill(wanted.name);
  const option = page.getByRole('option', { name: new RegExp(wanted.segment_id) });
  await option.waitFor({ state: 'visible', timeout: 5_000 }).catch(() => fail(`searching "${wanted.name}" did not list ${wanted.segment_id}`));
  const optionIndex = await page
    .getByRole('option')
    .evaluateAll((els, id) => els.findIndex((el) => el.textContent.includes(id)), wanted.segment_id);
  for (let i = 0; i <= optionIndex; i++) await search.press('ArrowDown');
  await search.press('Enter');
  const panel = page.locator('aside.panel');
  await panel.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => fail('picking a search result opened no panel'));
  if ((await panel.getAttribute('data-segment-id')) !== wanted.segment_id) {
    fail(`the search picked ${wanted.segment_id} but the panel shows ${await panel.getAttribute('data-segment-id')}`);
  }
  // It flew there: the segment is in view, right of the layer card, zoomed in.
  await waitFor(
    page,
    (id) => {
      const { map, pointOf } = window.__trafficcast;
      const p = pointOf(id);
      const box = map.getCanvas().getBoundingClientRect();
      return !map.isMoving() && map.getZoom() >= 13 && p && p.x > 330 && p.x < box.right && p.y > box.top && p.y < box.bottom;
    },
    wanted.segment_id,
    `the map did not fly to ${wanted.segment_id}`,
  );
  await panel.getByRole('button', { name: /close/i }).click();
  await panel.waitFor({ state: 'detached', timeout: 5_000 }).catch(() => fail('the close button did not close the panel'));

  // 7. Click a segment: the panel, its chart, and the link to the detail page.
  const clickTarget = await page.evaluate(findTarget, null);
  if (!clickTarget) fail('no rendered segment found to click');
  await page.mouse.click(clickTarget.x, clickTarget.y);
  await panel.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => fail(`clicking ${clickTarget.id} opened no panel`));
  if ((await panel.getAttribute('data-segment-id')) !== clickTarget.id) fail(`the panel does not show ${clickTarget.id}`);
  await waitFor(
    page,
    () => {
      const box = document.querySelector('aside.panel .chart-box');
      const canvas = box?.querySelector('canvas');
      const overlay = box?.querySelector('.chart-overlay')?.textContent ?? '';
      return canvas instanceof HTMLCanvasElement && canvas.width > 0 && !overlay.startsWith('Loading');
    },
    null,
    'the detail panel has no chart, or its data never loaded',
  );
  await page.mouse.move(5, 760);
  await screenshot('detail-panel');
  await panel.getByRole('link', { name: /open detail page/i }).click();
  await page
    .waitForURL((url) => url.pathname === `/segments/${encodeURIComponent(clickTarget.id)}`, { timeout: 10_000 })
    .catch(() => fail(`"Open detail page" did not lead to /segments/${clickTarget.id} (at ${page.url()})`));
  await page.waitForTimeout(1_000); // let the detail page settle so its own errors would show

  // 8. The operator's units and band limits (Settings) colour the map and its tooltip.
  await page.evaluate(() =>
    localStorage.setItem('trafficcast.preferences', JSON.stringify({ unit: 'kmh', fastAboveMph: 50, slowBelowMph: 40 })),
  );
  await openLive(page, baseUrl, '/map');
  await waitFor(page, () => document.querySelector('.map[data-ready="true"]') !== null, null, 'the map did not reload');
  const legend = await page.locator('.map-legend').innerText();
  if (!legend.includes('> 80 km/h') || !legend.includes('64–80 km/h')) {
    fail(`the legend does not show the 50/40 mph limits in km/h: ${legend.replace(/\s+/g, ' ')}`);
  }
  const prefResponse = page.waitForResponse((r) => r.url().endsWith('/api/traffic/history'));
  await page.getByRole('button', { name: 'Past', exact: true }).click();
  const prefWindow = await (await prefResponse).json();
  const prefSpeeds = new Map(prefWindow.segments.map((r) => [r.segment_id, r.mean_speed]));
  await page.waitForFunction(() => document.querySelector('.map-past-banner') !== null);
  await waitFor(
    page,
    ([ids, bands]) => ids.every((id, i) => window.__trafficcast.bandsOf(id).band === bands[i]),
    [catalog.map((seg) => seg.segment_id), catalog.map((seg) => speedBand(prefSpeeds.get(seg.segment_id), 50, 40))],
    'with limits 50/40 mph the map does not band the past window by them',
  );
  const kmhTarget = await page.evaluate(findTarget, null);
  if (!kmhTarget) fail('no segment to hover with km/h preferences');
  await hover(page, kmhTarget);
  const kmh = (await page.getByTestId('tooltip-speed').innerText()).trim();
  if (!/^\d+ km\/h$|^—$/.test(kmh)) fail(`with km/h chosen the tooltip shows "${kmh}"`);
  console.log(`preferences: km/h and 50/40 mph limits applied (tooltip ${kmh})`);
});
