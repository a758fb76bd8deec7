#!/usr/bin/env node
// Browser check of the alerts page (/alerts): the active list matches the API, an
// operator acknowledges and resolves alerts, the history's filters agree with the
// API, and the congestion rule is edited and restored.
//
//   node e2e/pages/alerts.e2e.mjs <baseUrl> <artifactDir>
//
// The simulated city may have no congestion when the check runs (at night, say).
// Then the check makes some, honestly: for two segments it posts crawling readings
// through the ingest API into the current 5-minute window plus one reading at the
// window's end (within the allowed clock skew), which closes the window; with the
// rule set to open after one window for those two segments only, the stream
// processor raises real alerts. The rule is restored at the end, whatever happens.
import { api, eventually, fail, openLive, runPageCheck, waitFor } from '../harness.mjs';

const MIN = 60_000;
const WINDOW_MS = 5 * MIN;
const RULE_PATH = '/api/alerts/rules/congestion';

const json = (method, body) => ({
  method,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

const activeAlerts = async (baseUrl) => (await api(baseUrl, '/api/alerts?state=active&limit=1000')).alerts;
const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const rowSelector = (id) => `tr[data-alert-id=${JSON.stringify(id)}]`;
const activeRow = (id) => `[data-testid="active-alerts"] ${rowSelector(id)}`;

/** Two alerts the processor raises now, for two quiet segments (see the header comment). */
async function raiseAlerts(baseUrl, rule, active) {
  const busy = new Set(active.map((a) => a.segment_id));
  const segments = (await api(baseUrl, '/api/segments')).segments.filter(
    (s) => s.free_flow_speed > 0 && !busy.has(s.segment_id),
  );
  if (segments.length < 2) fail('no two segments with a free-flow speed to raise alerts on');
  const chosen = segments.slice(0, 2);
  await api(baseUrl, RULE_PATH, json('PUT', { ...rule, enabled: true, open_minutes: 5, scope: { segment_ids: chosen.map((s) => s.segment_id) } }));
  const now = Date.now();
  const end = Math.floor(now / WINDOW_MS) * WINDOW_MS + WINDOW_MS;
  const events = [];
  for (const segment of chosen) {
    const crawl = 0.1 * segment.free_flow_speed;
    for (let i = 0; i < 40; i++) {
      const t = now + Math.floor(((end - 1000 - now) * i) / 40);
      events.push({ event_id: `e2e-alerts-${segment.segment_id}-${now}-${i}`, segment_id: segment.segment_id, timestamp: new Date(t).toISOString(), speed: crawl, source: 'e2e-alerts' });
    }
  }
  // The window's end: the stream clock reaches it, so the window closes now.
  const first = chosen[0];
  events.push({ event_id: `e2e-alerts-close-${now}`, segment_id: first.segment_id, timestamp: new Date(end).toISOString(), speed: 0.1 * first.free_flow_speed, source: 'e2e-alerts' });
  events.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  const result = await api(baseUrl, '/api/traffic/events/batch', json('POST', { events }));
  if (result.accepted !== events.length) fail(`the readings were not all accepted: ${JSON.stringify(result.rejected)}`);
  await eventually(
    'the processor to raise the alerts',
    async () => {
      const now = await activeAlerts(baseUrl);
      const missing = chosen.filter((s) => !now.some((a) => a.segment_id === s.segment_id));
      return missing.length === 0 ? null : `no alert yet for ${missing.map((s) => s.segment_id).join(', ')}`;
    },
    30_000,
  );
}

async function shownActiveIds(page) {
  return page.locator('[data-testid="active-alerts"] tbody tr[data-alert-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alert-id')));
}

async function shownHistoryIds(page) {
  return page.locator('[data-testid="history-table"] tbody tr[data-alert-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alert-id')));
}

async function checkActiveList(page, baseUrl) {
  await eventually('the active list matches /api/alerts?state=active', async () => {
    const want = (await activeAlerts(baseUrl)).map((a) => a.alert_id);
    const shown = await shownActiveIds(page);
    const count = (await page.getByTestId('active-count').innerText()).trim();
    if (!count.startsWith(`${shown.length} active`)) return `the heading says "${count}" for ${shown.length} rows`;
    return sameList(shown, want) ? null : `page [${shown.join(', ')}], API [${want.join(', ')}]`;
  });
}

async function act(page, id, action, note) {
  const row = page.locator(activeRow(id));
  await row.getByRole('button', { name: action === 'acknowledge' ? 'Acknowledge' : 'Resolve' }).click();
  const form = page.locator('.alerts-action-form');
  await form.getByLabel('Note (optional)').fill(note);
  await form.locator('button[type="submit"]').click();
}

async function checkHistoryFilters(page, baseUrl, resolved) {
  const history = page.getByTestId('alert-history');
  const select = (name, value) => history.locator(`select[name="${name}"]`).selectOption(value);
  const compare = async (what, query) =>
    eventually(`history filtered by ${what}`, async () => {
      const want = (await api(baseUrl, `/api/alerts?${query}&limit=200`)).alerts.map((a) => a.alert_id);
      const shown = await shownHistoryIds(page);
      if (want.length === 0) return 'the API has nothing for this filter';
      return sameList(shown, want) ? null : `page [${shown.join(', ')}], API [${want.join(', ')}]`;
    });

  await select('state', 'resolved');
  await compare('state=resolved', 'state=resolved');
  const ids = await shownHistoryIds(page);
  if (!ids.includes(resolved.alert_id)) fail(`the resolved alert ${resolved.alert_id} is not in the resolved history`);
  const all = (await api(baseUrl, '/api/alerts?limit=200')).alerts.length;
  if (ids.length > all) fail('the filtered history is longer than the whole history');

  await select('severity', resolved.severity);
  await compare(`resolved + ${resolved.severity}`, `state=resolved&severity=${resolved.severity}`);
  await select('alert_type', resolved.alert_type);
  await history.locator('input[name="segment_id"]').fill(resolved.segment_id);
  const segmentQuery = `state=resolved&severity=${resolved.severity}&alert_type=${resolved.alert_type}&segment_id=${encodeURIComponent(resolved.segment_id)}`;
  await compare('segment', segmentQuery);
  // A range around the resolved alert's opening (the inputs take minutes, in UTC).
  const opened = Date.parse(resolved.opened_at);
  const minute = (ms) => new Date(ms).toISOString().slice(0, 16);
  await history.locator('input[name="since"]').fill(minute(opened - MIN));
  await history.locator('input[name="until"]').fill(minute(opened + 2 * MIN));
  await compare(
    'date range',
    `${segmentQuery}&since=${minute(opened - MIN)}:00Z&until=${minute(opened + 2 * MIN)}:00Z`,
  );
  const narrowed = await shownHistoryIds(page);
  if (!narrowed.includes(resolved.alert_id)) {
    fail(`the narrowest filter lost the resolved alert: [${narrowed.join(', ')}]`);
  }
  // A range that ends before it starts is refused on the page, not sent.
  await history.locator('input[name="until"]').fill(minute(opened - 10 * MIN));
  await waitFor(page, () => document.querySelector('[data-testid="alert-history"] .alerts-field-error')?.textContent?.includes('Before the start'), null, 'no error for an end before the start');
}

async function checkRuleEditing(page, baseUrl) {
  // Escalation is not on the form: saving the form must keep it as stored.
  const stored = await api(baseUrl, RULE_PATH);
  await api(baseUrl, RULE_PATH, json('PUT', { ...stored, escalate_after_minutes: 600, escalate_to: ['webhook:http://127.0.0.1:9/escalate'] }));
  await page.reload();
  const before = await api(baseUrl, RULE_PATH);
  if (before.escalate_after_minutes !== 600) fail(`escalation was not set up: ${JSON.stringify(before)}`);
  const form = page.getByTestId('rule-form');
  await form.waitFor();
  const openField = form.getByLabel('Opens below (% of free-flow speed)');
  if ((await openField.inputValue()) !== String(Math.round(before.open_ratio * 10000) / 100)) {
    fail(`the form shows ${await openField.inputValue()} % but the rule opens below ${before.open_ratio}`);
  }
  // A mistake is shown next to its field and nothing is sent.
  const major = form.getByLabel('Major below (% of free-flow), else minor');
  await major.fill('95');
  await form.getByRole('button', { name: 'Save rule' }).click();
  await waitFor(page, () => [...document.querySelectorAll('[data-testid="rule-form"] .alerts-rule-field-invalid')].some((f) => f.textContent?.includes('Below the open threshold')), null, 'no field error for a major threshold above the open one');
  if ((await api(baseUrl, RULE_PATH)).major_ratio !== before.major_ratio) fail('an invalid rule was saved');
  await major.fill(String(Math.round(before.major_ratio * 10000) / 100));
  const target = before.open_ratio === 0.45 ? 40 : 45;
  await openField.fill(String(target));
  await form.getByRole('button', { name: 'Save rule' }).click();
  await waitFor(page, () => document.querySelector('[data-testid="rule-status"]')?.textContent?.includes('Saved'), null, 'the rule was not saved');
  const after = await api(baseUrl, RULE_PATH);
  const listed = (await api(baseUrl, '/api/alerts/rules')).rules[0];
  if (after.open_ratio !== target / 100 || listed.open_ratio !== target / 100) {
    fail(`saved open threshold ${target} %, the API has ${after.open_ratio} / ${listed.open_ratio}`);
  }
  const { open_ratio: _changed, ...rest } = after;
  const { open_ratio: _old, ...restBefore } = before;
  if (JSON.stringify(rest) !== JSON.stringify(restBefore)) fail('saving the open threshold changed other fields of the rule');
}

runPageCheck('alerts', async ({ page, baseUrl, screenshot }) => {
  const original = await api(baseUrl, RULE_PATH);
  try {
    let active = await activeAlerts(baseUrl);
    if (!active.some((a) => a.state === 'open') || active.length < 2) {
      await raiseAlerts(baseUrl, original, active);
      active = await activeAlerts(baseUrl);
    }
    await openLive(page, baseUrl, '/alerts');
    await checkActiveList(page, baseUrl);

    // Names and links come from the road network.
    const segments = new Map((await api(baseUrl, '/api/segments')).segments.map((s) => [s.segment_id, s]));
    const first = active.find((a) => a.state === 'open');
    const firstRow = page.locator(activeRow(first.alert_id));
    const link = firstRow.locator('a.alerts-segment');
    if ((await link.getAttribute('href')) !== `/segments/${encodeURIComponent(first.segment_id)}`) fail('the segment link is wrong');
    const name = segments.get(first.segment_id)?.name;
    if (name && !(await link.innerText()).includes(name)) fail(`the segment name ${name} is not shown`);

    // Acknowledge: the row changes on screen and in the API.
    await act(page, first.alert_id, 'acknowledge', 'e2e: crew on the way');
    await waitFor(page, (sel) => document.querySelector(sel)?.querySelector('[data-testid="alert-state"]')?.textContent === 'acknowledged', activeRow(first.alert_id), 'the acknowledged alert did not change on screen');
    await eventually('the acknowledgement in the API', async () => {
      const a = await api(baseUrl, `/api/alerts/${encodeURIComponent(first.alert_id)}`);
      return a.state === 'acknowledged' && a.note === 'e2e: crew on the way' && a.acknowledged_at ? null : JSON.stringify(a);
    });
    await checkActiveList(page, baseUrl);
    await page.getByTestId('active-alerts').scrollIntoViewIfNeeded();
    await screenshot('alerts');

    // Resolve another: it leaves the active list.
    const second = (await activeAlerts(baseUrl)).find((a) => a.alert_id !== first.alert_id);
    if (!second) fail('no second active alert to resolve');
    await act(page, second.alert_id, 'resolve', 'e2e: cleared');
    await waitFor(page, (sel) => !document.querySelector(sel), activeRow(second.alert_id), 'the resolved alert stayed in the active list');
    let resolved = null;
    await eventually('the resolution in the API', async () => {
      resolved = await api(baseUrl, `/api/alerts/${encodeURIComponent(second.alert_id)}`);
      return resolved.state === 'resolved' && resolved.note === 'e2e: cleared' ? null : JSON.stringify(resolved);
    });
    await checkActiveList(page, baseUrl);

    await checkHistoryFilters(page, baseUrl, resolved);
    await page.getByTestId('alert-history').scrollIntoViewIfNeeded();
    await screenshot('history');

    await checkRuleEditing(page, baseUrl);
  } finally {
    await api(baseUrl, RULE_PATH, json('PUT', original));
  }
  const restored = await api(baseUrl, RULE_PATH);
  if (JSON.stringify(restored) !== JSON.stringify(original)) fail(`the rule was not restored: ${JSON.stringify(restored)}`);
});
