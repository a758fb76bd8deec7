#!/usr/bin/env node
// Browser check of the overview page (/): every figure on screen matches the API.
//
//   node e2e/pages/overview.e2e.mjs <baseUrl> <artifactDir>
//
// The server keeps running live while the page and this script read it, so each
// comparison is retried until page and API agree (or the timeout says they never do).
import { api, eventually, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

const SLOW_BELOW_MPH = 30; // the default band limit (preferences untouched in this context)
const KMH_PER_MPH = 1.609344;

const attr = (page, testId, name) =>
  page.locator(`[data-testid="${testId}"]`).first().getAttribute(name, { timeout: 5_000 });

function usableSpeed(speed) {
  return typeof speed === 'number' && Number.isFinite(speed) && speed >= 0;
}

async function checkNetworkFigures(page, baseUrl) {
  await eventually('congested segments', async () => {
    const current = await api(baseUrl, '/api/traffic/current');
    const want = current.segments.filter((s) => usableSpeed(s.speed) && s.speed < SLOW_BELOW_MPH).length;
    const shown = Number(await attr(page, 'overview-congested', 'data-value'));
    const text = (await page.getByTestId('overview-congested').innerText()).replaceAll(',', '');
    if (Number(text) !== shown) return `the card reads ${text} but holds ${shown}`;
    return shown === want ? null : `page ${shown}, API ${want} segments below ${SLOW_BELOW_MPH} mph`;
  });
  await eventually('network mean speed', async () => {
    const current = await api(baseUrl, '/api/traffic/current');
    const speeds = current.segments.map((s) => s.speed).filter(usableSpeed);
    if (speeds.length === 0) return 'the API has no speeds';
    const mean = speeds.reduce((a, b) => a + b, 0) / speeds.length;
    const shown = Number(await attr(page, 'overview-mean-speed', 'data-value'));
    const text = await page.getByTestId('overview-mean-speed').innerText();
    if (text.trim() !== `${Math.round(shown)} mph`) return `the card reads "${text}" for ${shown}`;
    // Readings arrive ten a second: the two reads are a moment apart.
    return Math.abs(shown - mean) <= 1 ? null : `page ${shown.toFixed(2)} mph, API ${mean.toFixed(2)} mph`;
  });
  await eventually('network volume', async () => {
    const current = await api(baseUrl, '/api/traffic/current');
    const total = current.segments
      .map((s) => s.volume)
      .filter((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)
      .reduce((a, b) => a + b, 0);
    const shown = Number(await attr(page, 'overview-total-volume', 'data-value'));
    return Math.abs(shown - total) <= Math.max(50, total * 0.05) ? null : `page ${shown}, API ${total}`;
  });
}

async function checkAlerts(page, baseUrl) {
  await eventually('active alerts by severity', async () => {
    const [open, acknowledged] = await Promise.all([
      api(baseUrl, '/api/alerts?state=open&limit=10000'),
      api(baseUrl, '/api/alerts?state=acknowledged&limit=10000'),
    ]);
    const want = new Map();
    for (const [list, key] of [
      [open.alerts, 'open'],
      [acknowledged.alerts, 'acknowledged'],
    ]) {
      for (const a of list) {
        const c = want.get(a.severity) ?? { open: 0, acknowledged: 0 };
        c[key] += 1;
        want.set(a.severity, c);
      }
    }
    const total = Number(await attr(page, 'alerts-total', 'data-value'));
    const wantTotal = open.alerts.length + acknowledged.alerts.length;
    if (total !== wantTotal) return `page ${total} active alerts, API ${wantTotal}`;
    const rows = await page.locator('[data-testid^="alerts-severity-"]').evaluateAll((els) =>
      els.map((el) => ({
        severity: el.getAttribute('data-testid').slice('alerts-severity-'.length),
        open: Number(el.getAttribute('data-open')),
        acknowledged: Number(el.getAttribute('data-acknowledged')),
      })),
    );
    if (rows.length !== want.size) return `page severities ${rows.map((r) => r.severity)}, API ${[...want.keys()]}`;
    for (const row of rows) {
      const w = want.get(row.severity);
      if (!w || w.open !== row.open || w.acknowledged !== row.acknowledged) {
        return `${row.severity}: page ${row.open} open / ${row.acknowledged} acknowledged, API ${JSON.stringify(w)}`;
      }
    }
    return null;
  });
}

async function checkAccuracy(page, baseUrl) {
  await eventually('forecast accuracy per horizon', async () => {
    const accuracy = await api(baseUrl, '/api/predictions/accuracy');
    const main = accuracy.by_horizon.filter((h) => [15, 30, 45, 60].includes(h.horizon_minutes));
    if (main.length === 0) return 'the API has scored no 15/30/45/60-minute forecast yet';
    for (const h of main) {
      const row = page.getByTestId(`accuracy-${h.horizon_minutes}`);
      if ((await row.count()) !== 1) return `no row for +${h.horizon_minutes} min`;
      const mae = Number(await row.getAttribute('data-mae'));
      if (Math.abs(mae - h.speed_mae) > 1e-9) return `+${h.horizon_minutes} min: page MAE ${mae}, API ${h.speed_mae}`;
      const text = await row.innerText();
      if (!text.includes(`${h.speed_mae.toFixed(2)} mph`)) return `+${h.horizon_minutes} min row reads "${text}"`;
      if (Number(await row.getAttribute('data-n')) !== h.n) return `+${h.horizon_minutes} min: n differs`;
    }
    const shown = await page.locator('[data-testid^="accuracy-"]').count();
    return shown === main.length ? null : `page shows ${shown} horizons, API ${main.length}`;
    // A window closing in between changes the figures; the page refreshes them every minute.
  }, 75_000);
}

async function checkHealth(page, baseUrl) {
  await eventually('system status', async () => {
    const response = await fetch(new URL('/health', baseUrl));
    const health = await response.json();
    const overall = await attr(page, 'health-overall', 'data-status');
    if (overall !== health.status) return `page "${overall}", /health "${health.status}"`;
    for (const [key, check] of Object.entries(health.checks)) {
      const item = page.getByTestId(`health-${key}`);
      if ((await item.count()) !== 1) return `component ${key} is not listed`;
      const status = await item.getAttribute('data-status');
      if (status !== check.status) return `${key}: page "${status}", /health "${check.status}"`;
      if (!(await item.innerText()).includes(check.status)) return `${key} does not show its status`;
    }
    const listed = await page.locator('[data-testid^="health-"]:not([data-testid="health-overall"])').count();
    const want = Object.keys(health.checks).length;
    return listed === want ? null : `page lists ${listed} components, /health ${want}`;
  }, 35_000); // the page polls /health every 15 s
}

async function checkThroughput(page, baseUrl) {
  await eventually('events per second', async () => {
    const stats = await api(baseUrl, '/api/system/stats');
    const shown = Number(await attr(page, 'events-per-second', 'data-value'));
    if (!(shown > 0)) return `page shows ${shown} events/s`;
    if (!(stats.events_per_second > 0)) return `the API reports ${stats.events_per_second} events/s`;
    const points = Number(
      await page.locator('[data-testid="card-throughput"] svg').first().getAttribute('data-points'),
    );
    return points >= 1 && points <= 90 ? null : `the throughput chart has ${points} points`;
  });
}

await runPageCheck('overview', async ({ page, baseUrl, screenshot }) => {
  const started = Date.now();
  await openLive(page, baseUrl, '/');
  await waitFor(page, () => document.querySelector('[data-testid="overview-ready"]'), null, 'the overview never got ready');
  console.log(`overview: data on screen ${Date.now() - started} ms after navigation`);
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
  if (loaded.some((name) => /maplibre/i.test(name))) fail('the overview loaded the map library');

  await checkNetworkFigures(page, baseUrl);
  await checkAlerts(page, baseUrl);
  await checkAccuracy(page, baseUrl);
  await checkHealth(page, baseUrl);
  await checkThroughput(page, baseUrl);
  await waitFor(
    page,
    () => document.querySelectorAll('[data-testid="card-speed"] svg path').length > 0,
    null,
    'the speed trend was never drawn',
  );
  await screenshot('overview');

  // Units follow the preferences: km/h after switching, the same speed converted.
  await page.evaluate(() =>
    localStorage.setItem('trafficcast.preferences', JSON.stringify({ unit: 'kmh', fastAboveMph: 60, slowBelowMph: 30 })),
  );
  await page.reload({ waitUntil: 'load' });
  await waitFor(page, () => document.querySelector('[data-testid="overview-ready"]'), null, 'no overview after reload');
  await eventually('speed in km/h', async () => {
    const mph = Number(await attr(page, 'overview-mean-speed', 'data-value'));
    const text = (await page.getByTestId('overview-mean-speed').innerText()).trim();
    return text === `${Math.round(mph * KMH_PER_MPH)} km/h` ? null : `reads "${text}" for ${mph} mph`;
  });
  await page.evaluate(() => localStorage.removeItem('trafficcast.preferences'));

  // Cards link to their pages, by keyboard as well as by mouse.
  const accuracyLink = page.getByTestId('card-accuracy').getByRole('link');
  await accuracyLink.focus();
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => url.pathname === '/predictions');
  await page.goBack();
  await waitFor(page, () => document.querySelector('[data-testid="overview-ready"]'), null, 'no overview after going back');
  await page.getByTestId('card-alerts').getByRole('link').click();
  await page.waitForURL((url) => url.pathname === '/alerts');
  await waitFor(
    page,
    () => document.querySelector('nav a[aria-current="page"]')?.textContent?.trim() === 'Alerts',
    null,
    'after the alerts link the navigation does not mark Alerts',
  );
});
