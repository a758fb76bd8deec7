#!/usr/bin/env node
// Browser end-to-end check of the traffic map against a running trafficcast server.
//
//   node e2e/map.e2e.mjs <baseUrl> <artifactDir>
//
// Opens the page in Debian's Chromium (driven by playwright-core, no downloaded
// browser), waits for the live map, checks the screenshot really shows coloured
// segments, clicks one and checks its detail panel. Any console error/warning,
// page error or failed request fails the run. Exit code 0 = pass.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const VIEWPORT = { width: 1366, height: 768 };
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS || 45_000);
/** Pixels of a band colour the map screenshot must contain, for at least MIN_BANDS bands. */
const MIN_PIXELS = 200;
const MIN_BANDS = 2;
/** Euclidean RGB distance under which a pixel counts as a band colour (line edges are antialiased). */
const COLOR_TOLERANCE = 40;
const BAND_RGB = {
  'green (> 60 mph)': [0x1a, 0x98, 0x50],
  'yellow (30–60 mph)': [0xf9, 0xc8, 0x0e],
  'red (< 30 mph)': [0xd7, 0x30, 0x27],
};

/**
 * Console messages Chromium itself emits, not the page. With --disable-gpu the
 * WebGL canvas is composited in software, so Chromium reads every frame back and
 * its GL driver logs a "GPU stall due to ReadPixels" performance warning (four
 * times, then "will no longer repeat") for any WebGL page. The page never calls
 * readPixels; without --disable-gpu the message does not appear.
 */
const BROWSER_NOISE = [/^\[\.WebGL-[0-9a-fx]+\]GL Driver Message \(OpenGL, Performance, [A-Z_]+, High\): GPU stall due to ReadPixels/];

class CheckFailed extends Error {}

function fail(message) {
  throw new CheckFailed(message);
}

/** Counts pixels near each band colour inside `clip` (CSS px = screenshot px at scale 1). */
function countBandPixels(pngBuffer, clip) {
  const png = PNG.sync.read(pngBuffer);
  const counts = Object.fromEntries(Object.keys(BAND_RGB).map((name) => [name, 0]));
  const x0 = Math.max(0, Math.floor(clip.x));
  const y0 = Math.max(0, Math.floor(clip.y));
  const x1 = Math.min(png.width, Math.ceil(clip.x + clip.width));
  const y1 = Math.min(png.height, Math.ceil(clip.y + clip.height));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      for (const [name, [br, bg, bb]] of Object.entries(BAND_RGB)) {
        if (Math.hypot(r - br, g - bg, b - bb) <= COLOR_TOLERANCE) counts[name] += 1;
      }
    }
  }
  return counts;
}

/** Runs in the page: a screen point on a rendered segment that a click there would hit. */
function findClickTarget() {
  const hooks = window.__trafficcast;
  if (!hooks) return null;
  const { map, interactiveLayers } = hooks;
  const canvas = map.getCanvas().getBoundingClientRect();
  const margin = { left: 60, right: 80, top: 40, bottom: 80 }; // keep clear of the map controls
  const inside = (p) =>
    p.x > margin.left && p.x < canvas.width - margin.right && p.y > margin.top && p.y < canvas.height - margin.bottom;
  const tolerance = 5; // same box the page uses for clicks
  const hitAt = (p) =>
    map.queryRenderedFeatures(
      [
        [p.x - tolerance, p.y - tolerance],
        [p.x + tolerance, p.y + tolerance],
      ],
      { layers: [...interactiveLayers] },
    )[0]?.properties?.segment_id;

  const features = map.queryRenderedFeatures({ layers: [...interactiveLayers] });
  for (const feature of features) {
    const id = feature.properties?.segment_id;
    const geometry = feature.geometry;
    let point;
    if (geometry.type === 'Point') {
      point = map.project(geometry.coordinates);
    } else if (geometry.type === 'LineString' && geometry.coordinates.length >= 2) {
      // Middle of the middle piece: on the line, away from the ends shared with neighbours.
      const k = Math.floor((geometry.coordinates.length - 2) / 2);
      const a = map.project(geometry.coordinates[k]);
      const b = map.project(geometry.coordinates[k + 1]);
      point = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    } else {
      continue;
    }
    if (typeof id === 'string' && inside(point) && hitAt(point) === id) {
      return { id, x: canvas.left + point.x, y: canvas.top + point.y };
    }
  }
  return null;
}

async function run(baseUrl, artifactDir) {
  mkdirSync(artifactDir, { recursive: true });
  const problems = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  let page;
  try {
    page = await browser.newPage({ viewport: VIEWPORT });
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') {
        if (message.type() === 'warning' && BROWSER_NOISE.some((pattern) => pattern.test(message.text()))) return;
        const { url, lineNumber } = message.location();
        problems.push(`console ${message.type()}: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.stack || error.message}`));
    page.on('requestfailed', (request) => {
      const reason = request.failure()?.errorText ?? '?';
      // The page aborts fetches it no longer needs (closed panel, dev-mode StrictMode remounts).
      if (reason === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${request.method()} ${request.url()} (${reason})`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
    });

    const response = await page.goto(new URL('/map', baseUrl).toString(), { waitUntil: 'load' });
    if (!response || !response.ok()) fail(`GET ${baseUrl} answered ${response ? response.status() : 'nothing'}`);

    // 1. Live header and drawn segments.
    try {
      await page.waitForFunction(
        () => {
          const state = document.querySelector('[data-testid="connection-state"]')?.textContent?.trim();
          const hooks = window.__trafficcast;
          const mapReady = document.querySelector('.map[data-ready="true"]') !== null;
          return (
            state === 'live' &&
            mapReady &&
            hooks !== undefined &&
            hooks.map.queryRenderedFeatures({ layers: [...hooks.interactiveLayers] }).length > 0
          );
        },
        null,
        { timeout: TIMEOUT_MS, polling: 250 },
      );
    } catch {
      const state = await page
        .locator('[data-testid="connection-state"]')
        .textContent()
        .catch(() => null);
      fail(`the page never became live with segments drawn (connection state: ${state ?? 'no header'})`);
    }

    // 2. Enough data for at least two speed bands (live data may still be arriving).
    await page
      .waitForFunction(
        (minBands) =>
          ['fast', 'moderate', 'slow'].filter((band) => {
            const text = document.querySelector(`[data-band="${band}"] .band-count`)?.textContent ?? '0';
            return Number(text) > 0;
          }).length >= minBands,
        MIN_BANDS,
        { timeout: TIMEOUT_MS, polling: 250 },
      )
      .catch(() => undefined); // the pixel check below reports the failure clearly
    // Let the last feature-state batch render.
    await page.evaluate(
      () =>
        new Promise((resolve) => {
          const { map } = window.__trafficcast;
          map.triggerRepaint();
          map.once('idle', resolve);
        }),
    );

    const header = await page.locator('.header-bar').innerText();
    const mapBox = await page.locator('.map').boundingBox();
    if (!mapBox) fail('the map element has no size');
    const mapPng = await page.screenshot({ path: path.join(artifactDir, 'map.png') });
    const counts = countBandPixels(mapPng, mapBox);
    const colouredBands = Object.entries(counts).filter(([, count]) => count >= MIN_PIXELS);
    console.log(`map pixels by band: ${JSON.stringify(counts)}`);
    if (colouredBands.length < MIN_BANDS) {
      fail(
        `map.png shows ${colouredBands.length} speed band colour(s) with >= ${MIN_PIXELS} pixels, ` +
          `expected >= ${MIN_BANDS}: ${JSON.stringify(counts)}; header: ${header.replace(/\s+/g, ' ')}`,
      );
    }

    // 3. Click a segment, check the detail panel.
    const target = await page.evaluate(findClickTarget);
    if (!target) fail('no rendered segment found that can be clicked');
    console.log(`clicking ${target.id} at (${Math.round(target.x)}, ${Math.round(target.y)})`);
    await page.mouse.click(target.x, target.y);
    const panel = page.locator('aside.panel');
    try {
      await panel.waitFor({ state: 'visible', timeout: 10_000 });
    } catch {
      fail(`clicking segment ${target.id} did not open the detail panel`);
    }
    const shownId = await panel.getAttribute('data-segment-id');
    if (shownId !== target.id) fail(`the panel shows segment ${shownId}, expected ${target.id}`);
    const panelText = await panel.innerText();
    if (!panelText.includes(target.id)) fail(`the panel text does not mention ${target.id}`);
    try {
      await page.waitForFunction(
        () => {
          const box = document.querySelector('aside.panel .chart-box');
          const canvas = box?.querySelector('canvas');
          const overlay = box?.querySelector('.chart-overlay')?.textContent ?? '';
          return canvas instanceof HTMLCanvasElement && canvas.width > 0 && !overlay.startsWith('Loading');
        },
        null,
        { timeout: 10_000, polling: 100 },
      );
    } catch {
      fail('the detail panel has no chart canvas, or its data never loaded');
    }
    await page.mouse.move(5, VIEWPORT.height - 5); // no hover tooltip in the picture
    await page.screenshot({ path: path.join(artifactDir, 'detail.png') });

    // 4. The close button closes it.
    await panel.getByRole('button', { name: /close/i }).click();
    try {
      await panel.waitFor({ state: 'detached', timeout: 5_000 });
    } catch {
      fail('the close button did not close the panel');
    }

    if (problems.length > 0) fail(`the browser reported problems:\n  ${problems.join('\n  ')}`);
    console.log(`ok: map and detail panel checked; screenshots in ${artifactDir}`);
  } catch (error) {
    if (page) await page.screenshot({ path: path.join(artifactDir, 'failure.png') }).catch(() => undefined);
    if (problems.length > 0 && error instanceof CheckFailed && !error.message.startsWith('the browser reported')) {
      error.message += `\nbrowser problems seen before the failure:\n  ${problems.join('\n  ')}`;
    }
    throw error;
  } finally {
    await browser.close();
  }
}

const [baseUrl, artifactDir] = process.argv.slice(2);
if (!baseUrl || !artifactDir) {
  console.error('usage: node e2e/map.e2e.mjs <baseUrl> <artifactDir>');
  process.exit(2);
}
try {
  await run(baseUrl, artifactDir);
} catch (error) {
  const message = error instanceof CheckFailed ? error.message : error?.stack || String(error);
  console.error(`E2E FAILED: ${message}`);
  try {
    writeFileSync(path.join(artifactDir, 'failure.txt'), `${message}\n`);
  } catch {
    // the artifact dir itself may be the problem
  }
  process.exit(1);
}
