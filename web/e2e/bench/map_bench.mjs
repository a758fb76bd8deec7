#!/usr/bin/env node
// Browser measurements for bench/browser_map.py (which starts the server and
// reports). Prints progress on stderr and one JSON document on stdout.
//
//   node e2e/bench/map_bench.mjs <baseUrl> [--duration S] [--loads N] [--configs gpu,nogpu] [--pan]
//
// 1. First load of the overview `/` in a fresh browser context (cold cache),
//    N times: navigation start to `[data-testid="overview-ready"]` in the DOM
//    (a MutationObserver records the moment), and the gzip size of every
//    JavaScript file that load fetched.
// 2. /map with live updates: once every segment has data, S seconds of frames
//    while updates arrive, plus how many live readings the map applied meanwhile.
//    Per frame: its main-thread time (from the frame's requestAnimationFrame
//    timestamp to the first task after the frame's rendering steps, i.e. every
//    rAF callback including MapLibre's render, style, layout, paint and commit)
//    and the interval to the next frame (Chromium's headless display runs a
//    60 Hz frame clock, so an on-time interval is 16.7 ms); PerformanceObserver
//    long tasks and long animation frames. Run once per Chromium configuration:
//      gpu:   WebGL on SwiftShader in Chromium's GPU process (asynchronous to the
//             page, as with a real GPU; the machine has none)
//      nogpu: --disable-gpu, the browser checks' setting: software compositing
//             reads each WebGL frame back on the page's main thread
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const VIEWPORT = { width: 1366, height: 768 };
const BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const CONFIGS = {
  gpu: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
  nogpu: ['--disable-gpu'],
};

function parseArgs(argv) {
  const [baseUrl, ...rest] = argv;
  const options = { baseUrl, duration: 20, loads: 3, configs: ['gpu', 'nogpu'], pan: false };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (flag === '--duration') options.duration = Number(rest[++i]);
    else if (flag === '--loads') options.loads = Number(rest[++i]);
    else if (flag === '--configs') options.configs = rest[++i].split(',').filter(Boolean);
    else if (flag === '--pan') options.pan = true;
    else throw new Error(`unknown option ${flag}`);
  }
  if (!baseUrl || !(options.duration > 0) || !(options.loads > 0)) {
    throw new Error('usage: map_bench.mjs <baseUrl> [--duration S] [--loads N] [--configs gpu,nogpu] [--pan]');
  }
  for (const name of options.configs) if (!CONFIGS[name]) throw new Error(`unknown config ${name}`);
  return options;
}

const progress = (text) => process.stderr.write(`${text}\n`);

async function launch(config) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, ...CONFIGS[config]], headless: true });
}

function problemsOf(page) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return problems;
}

/** One cold first load of `/`. */
async function firstLoad(browser, baseUrl) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const problems = problemsOf(page);
  const scripts = new Map();
  page.on('response', async (response) => {
    if (response.request().resourceType() !== 'script' || !response.ok()) return;
    const url = response.url();
    scripts.set(url, response.body().then((body) => ({ raw: body.length, gzip: gzipSync(body, { level: 9 }).length })));
  });
  await page.addInitScript(() => {
    const mark = () => {
      if (document.querySelector('[data-testid="overview-ready"]')) {
        window.__overviewReadyAt = performance.now();
        return true;
      }
      return false;
    };
    const observer = new MutationObserver(() => {
      if (mark()) observer.disconnect();
    });
    document.addEventListener('DOMContentLoaded', () => {
      if (!mark()) observer.observe(document.body, { childList: true, subtree: true });
    });
  });
  await page.goto(new URL('/', baseUrl).toString(), { waitUntil: 'load' });
  await page.waitForFunction(() => window.__overviewReadyAt !== undefined, null, { timeout: 60_000 });
  const readyMs = await page.evaluate(() => window.__overviewReadyAt);
  const meanSpeed = await page
    .locator('[data-testid="overview-mean-speed"]')
    .innerText()
    .catch(() => null);
  // Scripts requested by then, and the lazy chunks of the page itself.
  await page.waitForLoadState('networkidle').catch(() => undefined);
  const files = [];
  for (const [url, size] of scripts) files.push({ url: new URL(url).pathname, ...(await size) });
  await context.close();
  return { readyMs, meanSpeed, files, problems };
}

/** Runs in the page: rAF deltas, long tasks and long animation frames for `seconds`. */
function measureFrames({ seconds, pan }) {
  return new Promise((resolve) => {
    const hooks = window.__trafficcast;
    const frames = [];
    const longTasks = [];
    const longFrames = [];
    const observers = [];
    const observe = (type, sink) => {
      try {
        const observer = new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) sink.push(entry);
        });
        observer.observe({ type, buffered: false });
        observers.push(observer);
      } catch {
        // an older Chromium without this entry type
      }
    };
    observe('longtask', longTasks);
    observe('long-animation-frame', longFrames);
    const before = { ...hooks.stats };
    const start = performance.now();
    const work = [];
    // A message posted from a rAF callback runs after that frame's rendering steps.
    const channel = new MessageChannel();
    let frameStart = null;
    channel.port1.onmessage = () => {
      if (frameStart !== null) work.push(performance.now() - frameStart);
      frameStart = null;
    };
    let last = null;
    let running = true;
    const tick = (t) => {
      if (last !== null) frames.push(t - last);
      last = t;
      frameStart = t;
      channel.port2.postMessage(0);
      if (running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    let panTimer = null;
    if (pan) {
      let direction = 1;
      const step = () => {
        hooks.map.panBy([direction * 150, 0], { duration: 1000 });
        direction = -direction;
      };
      step();
      panTimer = setInterval(step, 1000);
    }
    setTimeout(() => {
      running = false;
      if (panTimer) clearInterval(panTimer);
      for (const observer of observers) observer.disconnect();
      channel.port1.close();
      const elapsed = performance.now() - start;
      const after = hooks.stats;
      resolve({
        elapsedMs: elapsed,
        frames,
        work,
        longTasks: longTasks.map((e) => e.duration),
        longFrames: longFrames.map((e) => ({ duration: e.duration, blocking: e.blockingDuration ?? null })),
        flushes: after.flushes - before.flushes,
        segmentsUpdated: after.segmentsUpdated - before.segmentsUpdated,
        bandChanges: after.bandChanges - before.bandChanges,
      });
    }, seconds * 1000);
  });
}

async function mapRun(config, baseUrl, options) {
  const browser = await launch(config);
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    const problems = problemsOf(page);
    const t0 = Date.now();
    await page.goto(new URL('/map', baseUrl).toString(), { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelector('.map[data-ready="true"]'), null, { timeout: 120_000 });
    const readyMs = Date.now() - t0;
    const segments = await page.evaluate(async () => (await (await fetch('/api/segments')).json()).total);
    progress(`  [${config}] map ready in ${readyMs} ms with ${segments} segments; waiting for live updates`);
    // Every segment coloured from data, and live updates flowing.
    await page.waitForFunction(
      () => {
        const h = window.__trafficcast;
        return h && h.stats.flushes >= 3 && h.stats.segmentsUpdated > 0;
      },
      null,
      { timeout: 120_000, polling: 500 },
    );
    const gpu = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      const ext = gl?.getExtension('WEBGL_debug_renderer_info');
      return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : (gl?.getParameter(gl.RENDERER) ?? 'none');
    });
    const phases = {};
    const names = options.pan ? ['idle', 'pan'] : ['idle'];
    for (const phase of names) {
      const seconds = phase === 'pan' ? Math.max(5, Math.round(options.duration / 2)) : options.duration;
      progress(`  [${config}] measuring ${seconds} s (${phase === 'pan' ? 'panning the map' : 'map still'}) while updates arrive…`);
      phases[phase] = await page.evaluate(measureFrames, { seconds, pan: phase === 'pan' });
    }
    return { config, segments, readyMs, renderer: gpu, phases, problems };
  } finally {
    await browser.close();
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const result = { options, firstLoads: [], maps: [] };
  const loader = await launch('gpu');
  try {
    for (let i = 0; i < options.loads; i++) {
      progress(`first load of / (${i + 1}/${options.loads})…`);
      const load = await firstLoad(loader, options.baseUrl);
      progress(`  overview ready after ${Math.round(load.readyMs)} ms; ${load.files.length} JS files`);
      result.firstLoads.push(load);
    }
  } finally {
    await loader.close();
  }
  for (const config of options.configs) {
    progress(`map with live updates, Chromium config "${config}"…`);
    result.maps.push(await mapRun(config, options.baseUrl, options));
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  process.stderr.write(`map bench failed: ${error?.stack || error}\n`);
  process.exit(1);
});
