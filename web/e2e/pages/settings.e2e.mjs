#!/usr/bin/env node
// Browser check of the settings page (/settings): the speed unit and the band limits
// apply everywhere at once and survive a reload; bad limits are refused next to the
// field; the header's band counts follow the limits as /api/traffic/current says.
//
//   node e2e/pages/settings.e2e.mjs <baseUrl> <artifactDir>
import { api, eventually, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

const KMH_PER_MPH = 1.609344;
const BANDS = ['fast', 'moderate', 'slow', 'nodata'];

const fastTitle = (page) => page.locator('.band-counts li[data-band="fast"]').getAttribute('title');

async function headerCounts(page) {
  return page.locator('.band-counts li').evaluateAll((items) =>
    Object.fromEntries(items.map((li) => [li.getAttribute('data-band'), Number(li.querySelector('.band-count')?.textContent)])),
  );
}

/** Segments per band from the API, as bands.ts assigns them (limits in mph). */
async function apiCounts(baseUrl, fast, slow) {
  const [segments, current] = await Promise.all([api(baseUrl, '/api/segments'), api(baseUrl, '/api/traffic/current')]);
  const speeds = new Map(current.segments.map((s) => [s.segment_id, s.speed]));
  const counts = { fast: 0, moderate: 0, slow: 0, nodata: 0 };
  for (const s of segments.segments) {
    const v = speeds.get(s.segment_id);
    const band = typeof v !== 'number' || !Number.isFinite(v) || v < 0 ? 'nodata' : v > fast ? 'fast' : v < slow ? 'slow' : 'moderate';
    counts[band] += 1;
  }
  return counts;
}

/** The header agrees with the API for these limits (readings move on between the two reads). */
async function checkHeader(page, baseUrl, fast, slow) {
  let last = null;
  await eventually(`header band counts for ${slow}/${fast} mph`, async () => {
    const [shown, want] = await Promise.all([headerCounts(page), apiCounts(baseUrl, fast, slow)]);
    last = want;
    const total = Object.values(want).reduce((a, b) => a + b, 0);
    const off = BANDS.filter((b) => Math.abs((shown[b] ?? -1) - want[b]) > Math.max(2, total * 0.02));
    return off.length === 0 ? null : `header ${JSON.stringify(shown)}, API ${JSON.stringify(want)}`;
  });
  return last;
}

runPageCheck('settings', async ({ page, baseUrl, screenshot }) => {
  await openLive(page, baseUrl, '/settings');
  const bands = page.getByTestId('band-form');
  const fastInput = bands.getByLabel('Green above');
  const slowInput = bands.getByLabel('Red below');
  if ((await fastTitle(page)) !== 'Segments > 60 mph') fail(`the header starts with "${await fastTitle(page)}"`);
  const defaults = await checkHeader(page, baseUrl, 60, 30);

  // km/h: the header's limits, the form and the overview's network speed read in km/h.
  await page.getByLabel('Kilometres per hour (km/h)').check();
  await waitFor(page, () => document.querySelector('.band-counts li[data-band="fast"]')?.getAttribute('title') === 'Segments > 97 km/h', null, 'the header did not switch to km/h');
  await waitFor(page, () => document.querySelector('#settings-fast')?.value === '96.6', null, 'the green limit did not read 96.6 km/h');
  const rule = await api(baseUrl, '/api/alerts/rules/congestion');
  const rulePercent = await page.getByTestId('rule-form').getByLabel('Opens below (% of free-flow speed)').inputValue();
  if (Number(rulePercent) !== Math.round(rule.open_ratio * 10000) / 100) fail(`the alert thresholds show ${rulePercent} %, the rule ${rule.open_ratio}`);
  await screenshot('settings');

  await page.reload({ waitUntil: 'load' });
  await waitFor(page, () => document.querySelector('[data-testid="connection-state"]')?.textContent?.trim() === 'live', null, 'not live after the reload');
  if ((await fastTitle(page)) !== 'Segments > 97 km/h') fail('km/h did not survive a reload');
  if (!(await page.getByLabel('Kilometres per hour (km/h)').isChecked())) fail('the unit choice did not survive a reload');
  // Elsewhere too: the overview's network mean speed.
  await page.getByRole('link', { name: 'Overview' }).click();
  const mean = page.getByTestId('overview-mean-speed');
  await eventually('the overview speed in km/h', async () => {
    const mph = Number(await mean.getAttribute('data-value'));
    const text = (await mean.innerText()).trim();
    return Number.isFinite(mph) && text === `${Math.round(mph * KMH_PER_MPH)} km/h` ? null : `"${text}" for ${mph} mph`;
  });
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('Miles per hour (mph)').check();
  await waitFor(page, () => document.querySelector('.band-counts li[data-band="fast"]')?.getAttribute('title') === 'Segments > 60 mph', null, 'the header did not switch back to mph');

  // The form re-fills itself after a unit change (an effect, after the header has
  // already switched): typing before that would be overwritten.
  await waitFor(page, () => document.querySelector('#settings-fast')?.value === '60' && document.querySelector('#settings-slow')?.value === '30', null, 'the band form did not switch back to mph');

  // New limits: the header's counts follow, as the API's readings say they should.
  const [fast, slow] = [62, 58];
  await fastInput.fill(String(fast));
  await slowInput.fill(String(slow));
  await bands.getByRole('button', { name: 'Apply bands' }).click();
  await waitFor(page, (want) => document.querySelector('.band-counts li[data-band="fast"]')?.getAttribute('title') === want, `Segments > ${fast} mph`, 'the header did not take the new limits');
  const moved = await checkHeader(page, baseUrl, fast, slow);
  if (JSON.stringify(moved) === JSON.stringify(defaults)) fail('the new limits should have moved segments between bands');

  // A red limit above the green one is refused next to the field; nothing changes.
  await fastInput.fill('40');
  await slowInput.fill('50');
  await bands.getByRole('button', { name: 'Apply bands' }).click();
  await waitFor(page, () => document.querySelector('[data-testid="fast-error"]')?.textContent?.includes('Above the red limit'), null, 'no error next to the green limit');
  if ((await fastInput.getAttribute('aria-invalid')) !== 'true') fail('the green limit is not marked invalid');
  if ((await fastTitle(page)) !== `Segments > ${fast} mph`) fail('invalid limits were applied');

  await bands.getByRole('button', { name: /Restore defaults/ }).click();
  await waitFor(page, () => document.querySelector('.band-counts li[data-band="fast"]')?.getAttribute('title') === 'Segments > 60 mph', null, 'the defaults were not restored');
  await waitFor(page, () => document.querySelector('#settings-fast')?.value === '60' && document.querySelector('#settings-slow')?.value === '30', null, 'the form did not show the defaults');
  if ((await fastInput.getAttribute('aria-invalid')) !== null) fail('the restored form still shows an error');
  await checkHeader(page, baseUrl, 60, 30);
  const stored = await page.evaluate(() => localStorage.getItem('trafficcast.preferences'));
  if (!stored || JSON.parse(stored).unit !== 'mph' || JSON.parse(stored).fastAboveMph !== 60) fail(`stored preferences ${stored}`);
});
