// Shared set-up for the dashboard's browser checks (e2e/pages/<page>.e2e.mjs).
//
//   node e2e/pages/<page>.e2e.mjs <baseUrl> <artifactDir>
//
// Launches Debian's Chromium (playwright-core, never a downloaded browser) at a
// 1366×768 laptop viewport, records every console error/warning, page error,
// failed request and HTTP error, runs the page's steps, and fails the run if
// the steps fail or the browser reported any problem. Exit code 0 = pass.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const VIEWPORT = { width: 1366, height: 768 };
export const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS || 45_000);

/**
 * Console messages Chromium itself emits, not the page. With --disable-gpu the
 * WebGL canvas is composited in software, so Chromium reads every frame back and
 * its GL driver logs a "GPU stall due to ReadPixels" performance warning for any
 * WebGL page. The page never calls readPixels.
 */
const BROWSER_NOISE = [/^\[\.WebGL-[0-9a-fx]+\]GL Driver Message \(OpenGL, Performance, [A-Z_]+, High\): GPU stall due to ReadPixels/];

export class CheckFailed extends Error {}

export function fail(message) {
  throw new CheckFailed(message);
}

/** Fetches JSON from the server under test (to compare what the page shows with the API). */
export async function api(baseUrl, pathAndQuery, init) {
  const response = await fetch(new URL(pathAndQuery, baseUrl), init);
  const text = await response.text();
  if (!response.ok) fail(`${init?.method ?? 'GET'} ${pathAndQuery} answered ${response.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** Waits for `predicate` (run in the page) to be truthy, failing with `message` on timeout. */
export async function waitFor(page, predicate, arg, message, timeout = TIMEOUT_MS) {
  try {
    return await page.waitForFunction(predicate, arg, { timeout, polling: 200 });
  } catch {
    fail(message);
  }
}

/**
 * Retries `check` (async; resolves to null when satisfied, else the reason it is not)
 * until it passes or `timeout` ms have gone, then fails with `what` and the last reason.
 * The server keeps running live, so page and API are compared until they agree.
 * `onRetry` runs before each new try (e.g. a refresh).
 */
export async function eventually(what, check, timeout = 20_000, { interval = 500, onRetry } = {}) {
  const deadline = Date.now() + timeout;
  let reason = null;
  do {
    reason = await check();
    if (reason === null) return;
    if (onRetry) await onRetry();
    await new Promise((resolve) => setTimeout(resolve, interval));
  } while (Date.now() < deadline);
  fail(`${what}: ${reason}`);
}

/**
 * Runs one page check. `steps({ page, context, baseUrl, artifactDir, screenshot, problems })`
 * does the page's work; `screenshot(name)` writes <artifactDir>/<name>.png.
 * Problems the page itself expects (e.g. a 409 it provokes) can be removed from `problems`.
 */
export async function runPageCheck(name, steps) {
  const [baseUrl, artifactDir] = process.argv.slice(2);
  if (!baseUrl || !artifactDir) {
    console.error(`usage: node e2e/pages/${name}.e2e.mjs <baseUrl> <artifactDir>`);
    process.exit(2);
  }
  mkdirSync(artifactDir, { recursive: true });
  const problems = [];
  let page;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on('console', (message) => {
      const type = message.type();
      if (type !== 'error' && type !== 'warning') return;
      if (type === 'warning' && BROWSER_NOISE.some((pattern) => pattern.test(message.text()))) return;
      const { url, lineNumber } = message.location();
      problems.push(`console ${type}: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.stack || error.message}`));
    page.on('requestfailed', (request) => {
      const reason = request.failure()?.errorText ?? '?';
      // The page aborts fetches it no longer needs (closed panel, page change).
      if (reason === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${request.method()} ${request.url()} (${reason})`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
    });
    const screenshot = (shot) => page.screenshot({ path: path.join(artifactDir, `${shot}.png`) });
    await steps({ page, context, baseUrl, artifactDir, screenshot, problems });
    if (problems.length > 0) fail(`the browser reported problems:\n  ${problems.join('\n  ')}`);
    console.log(`ok: ${name} checked; screenshots in ${artifactDir}`);
  } catch (error) {
    if (page) await page.screenshot({ path: path.join(artifactDir, 'failure.png') }).catch(() => undefined);
    let message = error instanceof CheckFailed ? error.message : error?.stack || String(error);
    if (problems.length > 0 && !message.startsWith('the browser reported')) {
      message += `\nbrowser problems seen before the failure:\n  ${problems.join('\n  ')}`;
    }
    console.error(`E2E FAILED (${name}): ${message}`);
    try {
      writeFileSync(path.join(artifactDir, 'failure.txt'), `${message}\n`);
    } catch {
      // the artifact dir itself may be the problem
    }
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

/** Opens `pathname` and waits for the live connection state to read "live". */
export async function openLive(page, baseUrl, pathname) {
  const response = await page.goto(new URL(pathname, baseUrl).toString(), { waitUntil: 'load' });
  if (!response || !response.ok()) fail(`GET ${pathname} answered ${response ? response.status() : 'nothing'}`);
  await waitFor(
    page,
    () => document.querySelector('[data-testid="connection-state"]')?.textContent?.trim() === 'live',
    null,
    `${pathname}: the connection state never read "live"`,
  );
}
