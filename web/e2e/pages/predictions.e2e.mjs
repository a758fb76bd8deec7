#!/usr/bin/env node
// Browser check of the predictions page (/predictions): the registry matches the API,
// a grouped model's segment groups match its metadata,
// a retraining runs to a new version, promote and roll back take effect, an
// on-demand forecast shows what the API answered, and forecast settings save.
//
//   node e2e/pages/predictions.e2e.mjs <baseUrl> <artifactDir>
//
// The server is shared with the other page checks: the promotion is rolled back and
// the forecast settings are restored before the check ends, whatever happens.
import { api, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

const HEADLINE = [15, 30, 45, 60];
const TRAIN_TIMEOUT_MS = 150_000;

const fmt2 = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : '—');
const speedText = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${Math.round(v)} mph` : '—');

async function send(baseUrl, method, path, body) {
  return api(baseUrl, path, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The registry table as shown: version -> { valMae: [..], status }. */
async function shownRegistry(page) {
  return page.$$eval('[data-testid="model-registry"] tbody tr[data-version]', (rows) =>
    rows.map((row) => ({
      version: row.getAttribute('data-version'),
      valMae: [...row.querySelectorAll('[data-testid="val-mae"] span')].map((s) => s.textContent.trim()),
      testMae: [...row.querySelectorAll('[data-testid="test-mae"] span')].map((s) => s.textContent.trim()),
      status: row.querySelector('[data-testid="model-status"]').textContent.trim(),
    })),
  );
}

function expectedRow(model) {
  const at = (slice) => HEADLINE.map((h) => fmt2(model[slice]?.speed?.mae?.[String(h)]));
  return { valMae: at('validation'), testMae: at('test'), status: model.live ? 'Live' : model.promoted ? 'Promoted' : '—' };
}

/** Waits until the table lists exactly the API's versions with their metrics and status. */
async function checkRegistry(page, baseUrl, what) {
  const deadline = Date.now() + 20_000;
  let reason = '';
  while (Date.now() < deadline) {
    const list = await api(baseUrl, '/api/models');
    const shown = await shownRegistry(page);
    reason = '';
    if (shown.map((r) => r.version).join() !== list.models.map((m) => m.version).join()) {
      reason = `versions shown ${shown.map((r) => r.version)} vs API ${list.models.map((m) => m.version)}`;
    } else {
      for (const [i, model] of list.models.entries()) {
        const want = expectedRow(model);
        const got = shown[i];
        for (const key of ['valMae', 'testMae', 'status']) {
          if (JSON.stringify(got[key]) !== JSON.stringify(want[key])) {
            reason = `${model.version} ${key}: shown ${JSON.stringify(got[key])}, API ${JSON.stringify(want[key])}`;
          }
        }
      }
    }
    if (!reason) return list;
    await page.waitForTimeout(400);
  }
  fail(`${what}: ${reason}`);
}

async function checkDetail(page, baseUrl, version) {
  const row = page.locator(`tr[data-version="${version}"]`);
  await row.getByRole('button', { name: `Show details of ${version}` }).click();
  const pane = page.getByTestId(`model-detail-${version}`);
  await pane.waitFor();
  const detail = await api(baseUrl, `/api/models/${encodeURIComponent(version)}`);
  const source = (await pane.getByTestId('model-source').innerText()).trim();
  if (source !== detail.metadata.source) fail(`detail source "${source}" vs API "${detail.metadata.source}"`);
  if (!('groups' in detail.metadata) && (await pane.getByTestId('model-groups').count()) > 0) {
    fail(`${version} is not grouped but its detail shows segment groups`);
  }
  await row.getByRole('button', { name: `Hide details of ${version}` }).click();
}

const GROUP_HORIZONS = [15, 30, 60];

/** A grouped model's detail: the segment-groups line and table, and in how many groups
 * each candidate was chosen, against /api/models/{version}, for speed then volume. */
async function checkGroupedDetail(page, baseUrl, version, screenshot) {
  const row = page.locator(`tr[data-version="${version}"]`);
  await row.getByRole('button', { name: `Show details of ${version}` }).click();
  const pane = page.getByTestId(`model-detail-${version}`);
  const table = pane.getByTestId('groups-table');
  await table.waitFor();
  const { metadata } = await api(baseUrl, `/api/models/${encodeURIComponent(version)}`);
  const groups = metadata.groups;
  if (!Array.isArray(groups) || groups.length < 2) fail(`${version} has no groups in its metadata`);

  const segments = groups.reduce((sum, g) => sum + g.segments, 0);
  const want = `${metadata.grouping.groups} groups of ${segments} segments in all, ${metadata.grouping.cut_links} road links cut between groups`;
  const summary = await pane.getByTestId('groups-summary').innerText();
  if (!summary.startsWith(want)) fail(`groups summary "${summary}", expected "${want}"`);

  for (const quantity of ['speed', 'volume']) {
    const fmt = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(quantity === 'speed' ? 2 : 1) : '—');
    if (quantity !== 'speed') await pane.getByRole('group', { name: 'Quantity' }).getByRole('button', { name: quantity }).click();
    await waitFor(page, (q) => document.querySelector('[data-testid="groups-table"] caption')?.textContent?.startsWith(q), quantity, `the groups table never showed ${quantity}`);
    const shown = await table.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        name: tr.querySelector('th').textContent.trim(),
        segments: tr.querySelector('[data-testid="group-segments"]').textContent.trim(),
        chosen: tr.querySelector('[data-testid="group-chosen"]').textContent.trim(),
        validation: [...tr.querySelectorAll('td[data-slice="validation"]')].map((td) => td.textContent.trim()),
        test: [...tr.querySelectorAll('td[data-slice="test"]')].map((td) => td.textContent.trim()),
      })),
    );
    const expected = groups.map((g) => ({
      name: g.name,
      segments: String(g.segments),
      chosen: g.chosen?.[quantity] ?? '—',
      validation: GROUP_HORIZONS.map((h) => fmt(g.validation?.[quantity]?.mae?.[String(h)])),
      test: GROUP_HORIZONS.map((h) => fmt(g.test?.[quantity]?.mae?.[String(h)])),
    }));
    if (JSON.stringify(shown) !== JSON.stringify(expected)) {
      fail(`${quantity} groups table:\n shown ${JSON.stringify(shown)}\n API   ${JSON.stringify(expected)}`);
    }
    if (expected.some((g) => g.test.every((t) => t === '—'))) fail(`a group of ${version} has no test MAE to compare`);

    const candidates = await pane.getByTestId('model-candidates').locator('[data-kind]').evaluateAll((spans) =>
      spans.map((s) => [s.getAttribute('data-kind'), s.textContent.trim()]),
    );
    const kinds = Object.keys(metadata.candidates[quantity]);
    if (candidates.length !== kinds.length) fail(`${candidates.length} candidates shown for ${quantity}, API ${kinds.length}`);
    for (const [kind, text] of candidates) {
      const n = groups.filter((g) => g.chosen?.[quantity] === kind).length;
      if (!text.endsWith(`(chosen in ${n} of ${groups.length} groups)`)) fail(`candidate ${kind} reads "${text}", chosen in ${n} groups`);
    }
    console.log(`grouped ${version} ${quantity}: ${shown.length} groups, candidates ${candidates.map(([, t]) => t).join(' · ')}`);
    if (quantity === 'speed') {
      await table.scrollIntoViewIfNeeded();
      await screenshot('grouped-detail');
    }
  }
  await pane.getByRole('group', { name: 'Quantity' }).getByRole('button', { name: 'speed' }).click();
  await row.getByRole('button', { name: `Hide details of ${version}` }).click();
}

/** The accuracy table against the page's own accuracy answer, grouped per model as the
 * API's by_horizon is (buckets weighted by n). */
async function checkAccuracy(page, answer) {
  const groups = new Map();
  for (const b of answer.buckets) {
    const key = `${b.model_version}|${b.horizon_minutes}`;
    const g = groups.get(key) ?? { total: 0, weight: 0 };
    if (typeof b.speed_mae === 'number') {
      g.total += b.n * b.speed_mae;
      g.weight += b.n;
    }
    groups.set(key, g);
  }
  if (groups.size === 0) {
    await page.getByTestId('accuracy-empty').waitFor();
    return 0;
  }
  const cells = await page.$$eval('[data-testid="accuracy-table"] td[data-model]', (tds) =>
    tds.map((td) => ({
      model: td.getAttribute('data-model'),
      horizon: td.getAttribute('data-horizon'),
      text: td.textContent.trim(),
    })),
  );
  if (cells.length !== groups.size) fail(`accuracy table has ${cells.length} cells, the API ${groups.size} model × horizon groups`);
  let compared = 0;
  for (const [key, g] of groups) {
    const [model, horizon] = key.split('|');
    const cell = cells.find((c) => c.model === model && c.horizon === horizon);
    if (!cell) fail(`accuracy table lacks ${model} at ${horizon} min`);
    const want = g.weight > 0 ? fmt2(g.total / g.weight) : '—';
    if (cell.text !== want) fail(`accuracy ${model} ${horizon} min: shown ${cell.text}, API ${want}`);
    compared += 1;
  }
  return compared;
}

/** The server's per-model summary (?model_version=) agrees with grouping its buckets. */
async function checkAccuracyFilter(baseUrl) {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const all = await api(baseUrl, '/api/predictions/accuracy?bucket_minutes=60');
    const models = [...new Set(all.buckets.map((b) => b.model_version))];
    let agree = true;
    for (const model of models) {
      const one = await api(baseUrl, `/api/predictions/accuracy?bucket_minutes=60&model_version=${encodeURIComponent(model)}`);
      for (const h of one.by_horizon) {
        const rows = all.buckets.filter((b) => b.model_version === model && b.horizon_minutes === h.horizon_minutes);
        const n = rows.reduce((s, b) => s + b.n, 0);
        if (n !== h.n) agree = false;
      }
    }
    if (agree) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  fail('the accuracy per model_version never matched the grouped buckets');
}

async function retrain(page, baseUrl, screenshot) {
  const before = await api(baseUrl, '/api/models');
  await page.getByTestId('retrain-days').fill('1');
  const [started] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/models/train') && r.request().method() === 'POST'),
    page.getByTestId('retrain-start').click(),
  ]);
  if (started.status() !== 202) fail(`POST /api/models/train answered ${started.status()}`);
  const jobId = (await started.json()).job.job_id;
  // The card showed the newest earlier job (the fixture's training) until now.
  const job = page.locator(`[data-testid="retrain-job"][data-job-id="${jobId}"]`);
  await job.waitFor();
  const progress = page.getByTestId('retrain-progress');
  const seen = [];
  let shotTaken = false;
  const deadline = Date.now() + TRAIN_TIMEOUT_MS;
  let state = null;
  while (Date.now() < deadline) {
    state = await job.getAttribute('data-state').catch(() => null);
    const value = Number(await progress.getAttribute('aria-valuenow').catch(() => 'NaN'));
    if (Number.isFinite(value) && seen.at(-1) !== value) seen.push(value);
    if (state === 'running' && value > 0 && !shotTaken) {
      await screenshot('retrain-running');
      shotTaken = true;
    }
    if (state === 'succeeded' || state === 'failed') break;
    await page.waitForTimeout(150);
  }
  const stage = await page.getByTestId('retrain-stage').innerText();
  if (state !== 'succeeded') fail(`the retraining ended ${state}: ${stage}`);
  for (let i = 1; i < seen.length; i += 1) {
    if (seen[i] < seen[i - 1]) fail(`the progress bar went back: ${seen.join(' → ')}`);
  }
  if (seen.at(-1) !== 100) fail(`the progress bar ended at ${seen.at(-1)}`);
  console.log(`retrain progress seen: ${seen.join(' → ')}; ${stage}`);
  const finished = await api(baseUrl, `/api/models/jobs/${jobId}`);
  if (finished.state !== 'succeeded' || !finished.version) fail(`job ${jobId} is ${finished.state}`);
  const version = finished.version;
  if (!stage.includes(version)) fail(`the stage text "${stage}" does not name ${version}`);
  await page.locator(`[data-testid="model-registry"] tr[data-version="${version}"]`).waitFor({ timeout: 15_000 });
  const after = await checkRegistry(page, baseUrl, 'registry after retraining');
  if (after.models.length !== before.models.length + 1) fail('the retraining did not add exactly one version');
  const added = after.models.find((m) => m.version === version);
  if (!added || added.promoted || added.live) fail(`${version} should be registered but not promoted`);
  await screenshot('retrain');
  return { version, liveBefore: before.live_model_version };
}

async function confirm(page, expected) {
  const dialog = page.getByTestId('confirm');
  await dialog.waitFor();
  const text = await dialog.innerText();
  if (!text.includes(expected)) fail(`the confirmation reads "${text}", expected it to mention ${expected}`);
  await page.getByTestId('confirm-yes').click();
  const outcome = page.getByTestId('registry-outcome');
  await outcome.waitFor();
  return outcome.innerText();
}

async function promoteAndRollBack(page, baseUrl, version, liveBefore) {
  await page.getByTestId('retrain-promote').click();
  const promoted = await confirm(page, version);
  if (!promoted.includes(`Promoted ${version}`)) fail(`after promoting: "${promoted}"`);
  let list = await api(baseUrl, '/api/models');
  if (list.live_model_version !== version) fail(`API serves ${list.live_model_version} after promoting ${version}`);
  await checkRegistry(page, baseUrl, 'registry after promotion');

  await page.getByTestId('rollback').click();
  const rolled = await confirm(page, 'Roll back');
  if (!rolled.includes('Rolled back')) fail(`after rolling back: "${rolled}"`);
  list = await api(baseUrl, '/api/models');
  if (list.live_model_version !== liveBefore) {
    fail(`API serves ${list.live_model_version} after the rollback, expected ${liveBefore}`);
  }
  if (!rolled.includes(liveBefore)) fail(`the rollback message "${rolled}" does not name ${liveBefore}`);
  await checkRegistry(page, baseUrl, 'registry after rollback');
}

async function forecastOnDemand(page, baseUrl, screenshot) {
  const latest = await api(baseUrl, '/api/predictions/latest?limit=1');
  const segmentId = latest.predictions[0]?.segment_id;
  if (!segmentId) fail('the server has no forecast yet, so no segment with data');
  const card = page.getByTestId('forecast-card');
  await card.scrollIntoViewIfNeeded();
  await page.getByTestId('forecast-search').fill(segmentId);
  await page.getByTestId('forecast-segment').selectOption(segmentId);
  await page.getByTestId('forecast-horizon').selectOption('30');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/predictions/generate') && r.request().method() === 'POST'),
    page.getByTestId('forecast-generate').click(),
  ]);
  if (response.status() !== 200) fail(`generate answered ${response.status()}`);
  const answer = await response.json();
  await page.getByTestId('forecast-table').waitFor();
  const rows = await page.$$eval('[data-testid="forecast-table"] tbody tr', (trs) =>
    trs.map((tr) => ({
      horizon: Number(tr.getAttribute('data-horizon')),
      speed: tr.querySelector('[data-testid="forecast-speed"]').textContent.trim(),
      band: tr.querySelector('[data-testid="forecast-band"]').textContent.trim(),
    })),
  );
  if (rows.length !== answer.predictions.length || rows.length !== 6) {
    fail(`forecast table has ${rows.length} rows, API ${answer.predictions.length} (30 min = 6 expected)`);
  }
  for (const p of answer.predictions) {
    const row = rows.find((r) => r.horizon === p.horizon_minutes);
    if (!row) fail(`no row for ${p.horizon_minutes} min`);
    if (row.speed !== speedText(p.predicted_speed)) fail(`${p.horizon_minutes} min speed ${row.speed} vs API ${p.predicted_speed}`);
    const band =
      p.speed_lower == null || p.speed_upper == null ? '—' : `${Math.round(p.speed_lower)}–${Math.round(p.speed_upper)} mph`;
    if (row.band !== band) fail(`${p.horizon_minutes} min band ${row.band} vs API ${band}`);
  }
  const model = (await page.getByTestId('forecast-model-version').innerText()).trim();
  if (model !== answer.model_version) fail(`forecast model shown ${model}, API ${answer.model_version}`);
  await page.getByTestId('forecast-chart').locator('canvas').first().waitFor();
  await page.getByTestId('forecast-result').scrollIntoViewIfNeeded();
  await screenshot('forecast');
}

async function forecastSettings(page, baseUrl) {
  const initial = await api(baseUrl, '/api/settings/forecast');
  const form = page.getByTestId('settings-form');
  await form.scrollIntoViewIfNeeded();
  // Nothing chosen is refused before it reaches the server.
  for (const h of initial.available_horizons_min) await form.locator(`input[data-horizon="${h}"]`).setChecked(false);
  await waitFor(page, () => document.querySelector('#settings-horizons-error')?.textContent?.includes('at least one'), null, 'no message for an empty horizon choice');
  if (!(await page.getByTestId('settings-save').isDisabled())) fail('Save is enabled with no horizon chosen');

  const want = { horizons_min: [15, 30, 60], refresh_minutes: 15 };
  for (const h of want.horizons_min) await form.locator(`input[data-horizon="${h}"]`).setChecked(true);
  await page.getByTestId('settings-refresh').selectOption(String(want.refresh_minutes));
  await page.getByTestId('settings-save').click();
  await page.getByTestId('settings-status').waitFor();
  const saved = await api(baseUrl, '/api/settings/forecast');
  if (JSON.stringify(saved.horizons_min) !== JSON.stringify(want.horizons_min) || saved.refresh_minutes !== want.refresh_minutes) {
    fail(`GET /api/settings/forecast reads ${JSON.stringify(saved)} after saving ${JSON.stringify(want)}`);
  }
  const current = await page.getByTestId('settings-current').innerText();
  if (!current.includes('every 15 min: 15, 30, 60 min ahead')) fail(`the card reads "${current}"`);
  return initial;
}

runPageCheck('predictions', async ({ page, baseUrl, screenshot }) => {
  const [models, initialSettings] = await Promise.all([
    api(baseUrl, '/api/models'),
    api(baseUrl, '/api/settings/forecast'),
  ]);
  if (models.models.length === 0) fail('the shared server should have a trained model');
  const accuracyAnswer = page.waitForResponse((r) => r.url().includes('/api/predictions/accuracy'));
  await openLive(page, baseUrl, '/predictions');
  await page.getByTestId('model-registry').waitFor();
  await checkRegistry(page, baseUrl, 'registry');
  const compared = await checkAccuracy(page, await (await accuracyAnswer).json());
  console.log(`accuracy cells compared: ${compared}`);
  await checkAccuracyFilter(baseUrl);
  await page.getByTestId('settings-form').waitFor();
  await screenshot('predictions');
  // The fixture's ordinary model (the grouped one, registered after it, is listed first).
  await checkDetail(page, baseUrl, (models.models.find((m) => m.kind !== 'grouped') ?? models.models[0]).version);
  const grouped = models.models.find((m) => m.kind === 'grouped');
  if (!grouped) fail('the shared server should have a grouped model (tests/browser/conftest.py)');
  if (grouped.promoted || grouped.live) fail(`${grouped.version} should be registered, not promoted`);
  await checkGroupedDetail(page, baseUrl, grouped.version, screenshot);

  let rollbackNeeded = null;
  try {
    const { version, liveBefore } = await retrain(page, baseUrl, screenshot);
    rollbackNeeded = liveBefore;
    await promoteAndRollBack(page, baseUrl, version, liveBefore);
    rollbackNeeded = null;
    await forecastOnDemand(page, baseUrl, screenshot);
    await forecastSettings(page, baseUrl);
    await screenshot('settings');
  } finally {
    // Shared server: leave forecasts and the live model as the other checks expect them.
    await send(baseUrl, 'PUT', '/api/settings/forecast', {
      horizons_min: initialSettings.horizons_min,
      refresh_minutes: initialSettings.refresh_minutes,
    }).catch((error) => console.error(`could not restore the forecast settings: ${error.message}`));
    if (rollbackNeeded !== null) {
      const list = await api(baseUrl, '/api/models').catch(() => null);
      if (list && list.live_model_version !== rollbackNeeded) {
        await send(baseUrl, 'POST', `/api/models/${encodeURIComponent(rollbackNeeded)}/promote`).catch(() => undefined);
      }
    }
  }
});
