#!/usr/bin/env node
// Browser check of sign-in and roles, against a server where anonymous visitors
// may only sign in (tests/browser/test_login.py starts it with one admin).
//
//   node e2e/pages/auth.e2e.mjs <baseUrl> <artifactDir> <adminName> <adminPassword>
//
// The login screen; a wrong password's error; the admin signs in, adds a viewer
// and creates an API key in Settings (shown once, then only its prefix; it works
// through the API until revoked, then gets 401); signs out (the old token stops
// working); the viewer signs in, sees no admin sections and cannot acknowledge
// alerts, and the map runs live over a WebSocket opened with the viewer's token,
// which the page renews before it expires.
import { api, eventually, fail, runPageCheck, waitFor } from '../harness.mjs';

const [, , , , ADMIN, ADMIN_PASSWORD] = process.argv;
if (!ADMIN || !ADMIN_PASSWORD) {
  console.error('usage: node e2e/pages/auth.e2e.mjs <baseUrl> <artifactDir> <adminName> <adminPassword>');
  process.exit(2);
}
const VIEWER = 'e2e-viewer';
const VIEWER_PASSWORD = 'viewer-pass-' + Math.random().toString(36).slice(2, 10);
const KEY_NAME = 'e2e detectors';
const STORAGE_KEY = 'trafficcast.session';

const testId = (id) => `[data-testid="${id}"]`;

/** A request to the server from Node with the given headers; the raw status and body. */
async function raw(baseUrl, path, headers = {}, init = {}) {
  const response = await fetch(new URL(path, baseUrl), { ...init, headers });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** The session the page keeps in localStorage (null when signed out). */
const storedSession = (page) => page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? 'null'), STORAGE_KEY);

/**
 * Drops the problems a step provoked on purpose (its 401/409 answers and the console
 * lines Chromium logs for them), so only unexpected ones fail the check.
 */
function expect(problems, patterns) {
  const kept = problems.filter((p) => !patterns.some((re) => re.test(p)));
  problems.splice(0, problems.length, ...kept);
}

async function signIn(page, username, password) {
  await page.fill(testId('login-username'), username);
  await page.fill(testId('login-password'), password);
  await page.click(testId('login-submit'));
}

async function waitLive(page, what) {
  await waitFor(
    page,
    () => document.querySelector('[data-testid="connection-state"]')?.textContent?.trim() === 'live',
    null,
    `${what}: the connection state never read "live"`,
  );
}

async function goTo(page, label) {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: label, exact: true }).click();
}

await runPageCheck('auth', async ({ page, baseUrl, screenshot, problems }) => {
  // Every API request the page makes, with its Authorization header; every socket it opens.
  const requests = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/auth/')) {
      requests.push({ method: request.method(), path: url.pathname, auth: request.headers().authorization ?? null });
    }
  });
  const sockets = [];
  page.on('websocket', (ws) => {
    const entry = { url: ws.url(), frames: 0, closed: false };
    sockets.push(entry);
    // Data frames only (not the server's "subscribed" acknowledgement).
    ws.on('framereceived', ({ payload }) => {
      if (!String(payload).includes('"subscribed"')) entry.frames += 1;
    });
    ws.on('close', () => (entry.closed = true));
  });

  // --- the login screen, and a wrong password ------------------------------------------------
  const me = await api(baseUrl, '/auth/me');
  if (me.role !== null) fail(`anonymous should have no role on this server, has ${me.role}`);
  const anonymous = await raw(baseUrl, '/api/segments');
  if (anonymous.status !== 401) fail(`anonymous GET /api/segments answered ${anonymous.status}, expected 401`);

  const response = await page.goto(new URL('/', baseUrl).toString(), { waitUntil: 'load' });
  if (!response?.ok()) fail(`GET / answered ${response?.status()}`);
  await page.waitForSelector(testId('login-form'));
  if (await page.$(testId('connection-state'))) fail('the dashboard shows behind the login screen');
  if (await page.$(testId('login-skip'))) fail('the login screen offers to go on without signing in, but anonymous has no role');
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  if (focused !== 'login-username') fail(`the user name field is not focused first (${focused})`);
  await screenshot('login');

  await signIn(page, ADMIN, 'not-the-password');
  await page.waitForSelector(testId('login-error'));
  const error = (await page.textContent(testId('login-error'))).trim();
  if (error !== 'Wrong user name or password.') fail(`the wrong password shows "${error}"`);
  if ((await page.inputValue(testId('login-password'))) !== '') fail('the wrong password was left in the field');
  if (await storedSession(page)) fail('a session was stored after a refused sign-in');
  await screenshot('login-error');
  expect(problems, [/HTTP 401: POST .*\/auth\/login/, /status of 401/]);

  // --- the admin signs in ------------------------------------------------------------------
  await signIn(page, ADMIN, ADMIN_PASSWORD);
  await waitLive(page, 'after the admin signed in');
  const adminUser = (await page.textContent(testId('account-user'))).trim();
  const adminRole = (await page.textContent(testId('account-role'))).trim();
  if (adminUser !== ADMIN || adminRole !== 'admin') fail(`the header shows ${adminUser} / ${adminRole}`);
  const adminSession = await storedSession(page);
  if (!adminSession?.accessToken || !adminSession.refreshToken) fail('no session kept in localStorage');
  const adminAuth = { Authorization: `Bearer ${adminSession.accessToken}` };
  const whoAmI = await api(baseUrl, '/auth/me', { headers: adminAuth });
  if (whoAmI.username !== ADMIN || whoAmI.role !== 'admin') fail(`the stored token is ${JSON.stringify(whoAmI)}`);
  const unsigned = requests.filter((r) => r.path.startsWith('/api/') && !r.auth?.startsWith('Bearer '));
  if (unsigned.length) fail(`API requests without the bearer token: ${unsigned.map((r) => r.path).join(', ')}`);
  const adminSocket = sockets.at(-1);
  if (!adminSocket?.url.includes(`access_token=${encodeURIComponent(adminSession.accessToken)}`)) {
    fail(`the WebSocket did not carry the access token: ${adminSocket?.url}`);
  }

  // A reload keeps the session.
  await page.reload({ waitUntil: 'load' });
  await waitLive(page, 'after a reload');
  if ((await page.textContent(testId('account-user'))).trim() !== ADMIN) fail('a reload lost the session');

  // --- Settings: add a viewer ----------------------------------------------------------------
  await goTo(page, 'Settings');
  await page.waitForSelector(`${testId('users-table')} tr[data-username="${ADMIN}"]`);
  const listed = (await api(baseUrl, '/api/users', { headers: adminAuth })).users.map((u) => u.username).sort();
  const shown = (await page.$$eval(`${testId('users-table')} tbody tr[data-username]`, (rows) => rows.map((r) => r.dataset.username))).sort();
  if (JSON.stringify(listed) !== JSON.stringify(shown)) fail(`users shown ${shown}, API ${listed}`);

  await page.fill(testId('new-user-username'), 'bad name');
  await page.fill(testId('new-user-password'), 'short');
  await page.click(testId('new-user-submit'));
  const form = testId('new-user-form');
  await page.waitForSelector(`${form} .settings-error`);
  const fieldErrors = await page.$$eval(`${form} [role="alert"]`, (els) => els.map((e) => e.textContent.trim()));
  if (!fieldErrors.some((t) => t.startsWith('Only letters')) || !fieldErrors.some((t) => t.startsWith('At least 12 characters'))) {
    fail(`the form did not explain the bad name and short password: ${JSON.stringify(fieldErrors)}`);
  }
  if (requests.some((r) => r.method === 'POST' && r.path === '/api/users')) fail('an invalid user was sent to the server');

  await page.fill(testId('new-user-username'), VIEWER);
  await page.fill(testId('new-user-password'), VIEWER_PASSWORD);
  await page.selectOption(testId('new-user-role'), 'viewer');
  await page.click(testId('new-user-submit'));
  await page.waitForSelector(`${testId('users-table')} tr[data-username="${VIEWER}"]`);
  const added = (await api(baseUrl, '/api/users', { headers: adminAuth })).users.find((u) => u.username === VIEWER);
  if (!added || added.role !== 'viewer' || added.disabled) fail(`the API has the viewer as ${JSON.stringify(added)}`);
  const rowRole = await page.$eval(`tr[data-username="${VIEWER}"] ${testId('user-role')}`, (s) => s.value);
  if (rowRole !== 'viewer') fail(`the viewer's row shows role ${rowRole}`);

  // Change the tier, disable and enable again: each reaches the server.
  const viewerRow = `tr[data-username="${VIEWER}"]`;
  const userOnServer = async () => (await api(baseUrl, '/api/users', { headers: adminAuth })).users.find((u) => u.username === VIEWER);
  await page.selectOption(`${viewerRow} ${testId('user-tier')}`, 'premium');
  await eventually('the tier change to reach the server', async () => ((await userOnServer()).tier === 'premium' ? null : 'still standard'));
  await page.click(`${viewerRow} ${testId('user-disable')}`);
  await page.click(testId('user-disable-confirm'));
  await waitFor(page, (sel) => document.querySelector(sel)?.textContent === 'disabled', `${viewerRow} ${testId('user-state')}`, 'the viewer never showed as disabled');
  if (!(await userOnServer()).disabled) fail('the disable did not reach the server');
  await page.click(`${viewerRow} ${testId('user-enable')}`);
  await waitFor(page, (sel) => document.querySelector(sel)?.textContent === 'enabled', `${viewerRow} ${testId('user-state')}`, 'the viewer never showed as enabled again');
  if ((await userOnServer()).disabled) fail('the enable did not reach the server');

  // The same name again: the server's 409 lands on the user name field.
  await page.fill(testId('new-user-username'), VIEWER);
  await page.fill(testId('new-user-password'), VIEWER_PASSWORD);
  await page.click(testId('new-user-submit'));
  await waitFor(
    page,
    () => [...document.querySelectorAll('[data-testid="new-user-form"] [role="alert"]')].some((e) => /exist|taken/i.test(e.textContent)),
    null,
    'a second user of the same name showed no conflict message',
  );
  expect(problems, [/HTTP 409: POST .*\/api\/users/, /status of 409/]);
  await page.fill(testId('new-user-username'), '');
  await page.fill(testId('new-user-password'), '');

  // --- Settings: an API key, shown once ------------------------------------------------------
  await page.fill(testId('new-key-name'), KEY_NAME);
  await page.selectOption(testId('new-key-role'), 'api');
  await page.click(testId('new-key-submit'));
  await page.waitForSelector(testId('new-key-value'));
  const key = await page.inputValue(testId('new-key-value'));
  const [, prefix] = key.split('_');
  if (!/^tck_[A-Za-z0-9]{8}_.{16,}$/.test(key)) fail(`the new key looks wrong: ${key}`);
  const warning = await page.textContent(testId('new-key-warning'));
  if (!/not be shown again/.test(warning)) fail(`no once-only warning: ${warning}`);
  await page.locator(testId('new-key')).scrollIntoViewIfNeeded();
  await screenshot('key-created');

  const keyAuth = { 'X-API-Key': key };
  const asKey = await api(baseUrl, '/auth/me', { headers: keyAuth });
  if (asKey.kind !== 'api_key' || asKey.role !== 'api') fail(`the key is ${JSON.stringify(asKey)}`);
  const keyRead = await raw(baseUrl, '/api/segments', keyAuth);
  if (keyRead.status !== 200) fail(`GET /api/segments with the key answered ${keyRead.status}`);

  await page.click(testId('new-key-done'));
  await page.waitForSelector(testId('new-key-form'));
  const row = `${testId('keys-table')} tr[data-prefix="${prefix}"]`;
  await page.waitForSelector(row);
  const pageText = await page.evaluate(() => document.body.innerText + [...document.querySelectorAll('input')].map((i) => i.value).join(' '));
  if (pageText.includes(key)) fail('the full key is still on the page after it was dismissed');
  const keysApi = (await api(baseUrl, '/api/keys', { headers: adminAuth })).keys;
  const listedKey = keysApi.find((k) => k.prefix === prefix);
  if (!listedKey || listedKey.name !== KEY_NAME || listedKey.revoked_at !== null) fail(`the API lists the key as ${JSON.stringify(listedKey)}`);
  // The secret is everything after tck_<prefix>_ (it may itself contain underscores).
  const secret = key.slice(`tck_${prefix}_`.length);
  if (JSON.stringify(keysApi).includes(secret)) fail('the API listing contains the secret');
  const rowCells = await page.$$eval(`${row} td, ${row} th`, (cells) => cells.map((c) => c.textContent.trim()));
  if (rowCells[0] !== prefix || rowCells[1] !== KEY_NAME || rowCells[6] !== 'active') fail(`the key row shows ${JSON.stringify(rowCells)}`);
  await page.locator(testId('keys-section')).scrollIntoViewIfNeeded();
  await screenshot('keys-list');

  // Revoke, with confirmation: the key stops working at once.
  await page.click(`${row} ${testId('key-revoke')}`);
  await page.click(testId('key-revoke-confirm'));
  await waitFor(page, (sel) => document.querySelector(sel)?.textContent?.startsWith('revoked'), `${row} ${testId('key-state')}`, 'the key never showed as revoked');
  const revokedRead = await raw(baseUrl, '/api/segments', keyAuth);
  if (revokedRead.status !== 401 || revokedRead.body?.error?.code !== 'unauthorized') {
    fail(`a revoked key got ${revokedRead.status} ${JSON.stringify(revokedRead.body)}`);
  }

  // --- sign out -------------------------------------------------------------------------------
  await page.click(testId('sign-out'));
  await page.waitForSelector(testId('login-form'));
  if (await storedSession(page)) fail('the session stayed in localStorage after signing out');
  const oldToken = await raw(baseUrl, '/api/segments', adminAuth);
  if (oldToken.status !== 401) fail(`the signed-out token still answers ${oldToken.status}`);
  if (!requests.some((r) => r.method === 'POST' && r.path === '/auth/logout')) fail('Sign out did not tell the server');

  // --- the viewer -------------------------------------------------------------------------------
  await signIn(page, VIEWER, VIEWER_PASSWORD);
  await waitLive(page, 'after the viewer signed in');
  const viewerRole = (await page.textContent(testId('account-role'))).trim();
  if (viewerRole !== 'viewer') fail(`the header shows role ${viewerRole} for the viewer`);
  const viewerSession = await storedSession(page);
  const viewerSignedInAt = Date.now();

  await goTo(page, 'Settings');
  await page.waitForSelector(testId('band-form'));
  await page.waitForSelector(testId('role-note'));
  if (await page.$(testId('users-section'))) fail('the viewer sees the Users section');
  if (await page.$(testId('keys-section'))) fail('the viewer sees the API keys section');
  const saveRule = page.locator('.alerts-rule-save');
  if ((await saveRule.getAttribute('aria-disabled')) !== 'true') fail('the viewer can save the alert rule');
  if ((await saveRule.getAttribute('title')) !== 'Needs the admin role') fail(`the rule's save tooltip: ${await saveRule.getAttribute('title')}`);
  await screenshot('viewer-settings');

  await goTo(page, 'Alerts');
  const active = (await api(baseUrl, '/api/alerts?state=open&limit=50', { headers: { Authorization: `Bearer ${viewerSession.accessToken}` } })).alerts;
  if (active.length === 0) fail('no open alert to check the acknowledge button on');
  const alertRow = `[data-testid="active-alerts"] tr[data-alert-id=${JSON.stringify(active[0].alert_id)}]`;
  await page.waitForSelector(alertRow);
  const ack = page.locator(alertRow).getByRole('button', { name: 'Acknowledge' });
  if ((await ack.getAttribute('aria-disabled')) !== 'true') fail('the viewer has a usable Acknowledge button');
  if ((await ack.getAttribute('title')) !== 'Needs the analyst or admin role') fail(`the Acknowledge tooltip: ${await ack.getAttribute('title')}`);
  await ack.click({ force: true }); // Playwright waits for aria-disabled buttons to enable
  if (await page.$('.alerts-action-form')) fail('clicking the locked Acknowledge opened the form');
  await ack.hover();
  await screenshot('viewer-alerts');
  // The server refuses it anyway.
  const forced = await raw(
    baseUrl,
    `/api/alerts/${active[0].alert_id.split('/').map(encodeURIComponent).join('/')}/acknowledge`,
    { Authorization: `Bearer ${viewerSession.accessToken}`, 'Content-Type': 'application/json' },
    { method: 'POST', body: '{}' },
  );
  if (forced.status !== 403 || forced.body?.error?.code !== 'forbidden') fail(`a viewer's acknowledge got ${forced.status}`);

  // --- the live map with the viewer's token ------------------------------------------------------
  await goTo(page, 'Map');
  await waitLive(page, 'the viewer\'s map');
  const viewerSocket = sockets.at(-1);
  if (!viewerSocket.url.includes(`access_token=${encodeURIComponent(viewerSession.accessToken)}`)) {
    fail(`the viewer's WebSocket did not carry the viewer's token: ${viewerSocket.url}`);
  }
  await eventually('live data on the viewer\'s socket', async () => (viewerSocket.frames > 0 ? null : 'no data frame yet'), 60_000);
  await eventually('segments coloured on the map header', async () => {
    const counted = await page.$$eval('.band-count', (els) => els.reduce((n, e) => n + Number(e.textContent), 0));
    return counted > 0 ? null : 'no segment in any band';
  });
  await page.waitForSelector('.maplibregl-canvas');
  await screenshot('viewer-map');

  // --- the token is renewed before it expires (the server issues 1-minute tokens) -------------
  const lifetimeMs = viewerSession.expiresAt - viewerSession.issuedAt;
  if (lifetimeMs > 5 * 60_000) fail(`the server's access tokens live ${lifetimeMs} ms; the check expects short ones`);
  await eventually(
    'the page to renew the access token before it expires',
    async () => {
      const now = await storedSession(page);
      if (now?.accessToken && now.accessToken !== viewerSession.accessToken) return null;
      return `still the first token, ${Math.round((Date.now() - viewerSignedInAt) / 1000)} s after sign-in`;
    },
    lifetimeMs + 15_000,
    { interval: 1000 },
  );
  const renewed = await storedSession(page);
  const refreshedAt = requests.filter((r) => r.path === '/auth/refresh').length;
  if (refreshedAt !== 1) fail(`${refreshedAt} refresh requests for one renewal`);
  if (renewed.issuedAt >= viewerSession.expiresAt) fail('the token was renewed only after it had expired');
  // The page goes on with the new token: the next API call carries it.
  await goTo(page, 'Alerts');
  await page.waitForSelector(alertRow);
  const last = requests.filter((r) => r.path.startsWith('/api/')).at(-1);
  if (last?.auth !== `Bearer ${renewed.accessToken}`) fail('the page kept using the old token after renewing');
  if (viewerSocket.closed) fail('the live socket closed around the renewal');
});
