// End-to-end test of the web app against a real `appgen serve` (scaffold agent), in headless
// Chromium driven by playwright-core. It does what a person would: sign up, describe an app,
// watch it being built, download it, open it live, continue it, cancel another, look at every
// page at 360 px, and check that a second user sees none of it.
//
//   APPGEN_URL=http://127.0.0.1:18480 APPGEN_SCREENSHOTS=/tmp/shots node ui/e2e/e2e.mjs
//
// Exits 0 when everything held, 1 with a message saying what did not. Any console error or
// warning, or uncaught page error, fails the run, except the browser's own line for an answer
// this script expects to be an error: 404 for another user's generation, and 503 from a live
// preview's address while its app is starting.

import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.APPGEN_URL ?? '').replace(/\/+$/, '');
if (!BASE) {
  console.error('e2e: set APPGEN_URL to the address of a running `appgen serve`, e.g. http://127.0.0.1:18480');
  process.exit(2);
}
const SHOTS = process.env.APPGEN_SCREENSHOTS || mkdtempSync(join(tmpdir(), 'appgen-e2e-'));
mkdirSync(SHOTS, { recursive: true });

/** Real generation runs pnpm install, build, tests and a browser smoke test. */
const DELIVER_WITHIN_MS = 5 * 60 * 1000;
/** A live preview installs, builds and boots the delivered app after delivery. */
const LIVE_WITHIN_MS = 3 * 60 * 1000;
const PASSWORD = 'e2e-password-0123';
const PROMPT = 'A tiny todo list with a title and a done flag';
const FOLLOW_UP = 'Add a due date to each todo';
const CANCEL_PROMPT = 'A reading log with a title, an author and a rating from 1 to 5';

const failures = [];
const started = Date.now();

function step(text) {
  console.log(`e2e: [${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
}

/** A failure that does not stop the run: the steps after it still say what works. */
function fail(text) {
  console.error(`e2e: FAILED: ${text}`);
  failures.push(text);
}

function check(condition, text) {
  if (!condition) throw new Error(text);
}

/** Answers that are errors on purpose; the browser logs each as a console error. */
const expectedErrors = [];

/** `matches` is given the resource's URL. */
function expectError(matches, status) {
  expectedErrors.push({ matches, status });
}

function isExpected(resourceUrl, text) {
  const status = Number(/status of (\d{3})/.exec(text)?.[1]);
  let url;
  try {
    url = new URL(resourceUrl);
  } catch {
    return false;
  }
  return expectedErrors.some((e) => e.status === status && e.matches(url));
}

/** True while this script has cut the browser's network on purpose. */
let offline = false;

/** Every console error or warning and every page error is a failure, unless expected. */
function watch(page, who) {
  page.on('console', (message) => {
    const type = message.type();
    if (type !== 'error' && type !== 'warning') return;
    const text = message.text();
    const where = message.location()?.url ?? '';
    if (offline && text.includes('net::ERR_INTERNET_DISCONNECTED')) return;
    if (text.startsWith('Failed to load resource') && isExpected(where, text)) return;
    fail(`${who}: console ${type} on ${page.url()}: ${text}${where ? ` (${where})` : ''}`);
  });
  page.on('pageerror', (error) => fail(`${who}: page error on ${page.url()}: ${error.message}`));
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Calls `probe` every half second until it answers true; a probe that throws (e.g. while
 * its page reloads) counts as false. */
async function until(probe, withinMs, what) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${withinMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The generated todo app, not the page its address shows while the app starts. */
function isTheApp(text) {
  return /todo/i.test(text) && !/is starting|restarts soon/i.test(text);
}

async function heading(page, name) {
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}

async function open(page, path, title) {
  await page.goto(BASE + path);
  if (title) await heading(page, title);
}

async function phaseOf(page) {
  return (await page.locator('.gen-title .badge').textContent())?.trim();
}

/** Waits on the generation page until the phase is one of `phases`; fails early on another
 * final phase, with the page's own message. */
async function waitForPhase(page, phases, withinMs, onTick) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const phase = await phaseOf(page);
    if (onTick) await onTick(phase);
    if (phases.includes(phase)) return phase;
    if (['Delivered', 'Failed', 'Cancelled'].includes(phase)) {
      const message = (await page.locator('.gen-header').innerText()).replace(/\s+/g, ' ');
      throw new Error(`${page.url()} ended ${phase}, not ${phases.join(' or ')}: ${message}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${page.url()} is still ${phase} after ${withinMs / 1000} s, not ${phases.join(' or ')}`);
    }
    await page.waitForTimeout(500);
  }
}

/** Controls on the page that a screen reader could not name: no label, aria-label or
 * aria-labelledby, no text, no title (and frames without a title). */
async function unlabelled(page) {
  return page.evaluate(() => {
    const named = (el) => {
      const byIds = (el.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join('');
      const labels = 'labels' in el && el.labels ? [...el.labels].map((l) => l.textContent).join('') : '';
      const images = [...el.querySelectorAll('img[alt]')].map((img) => img.alt).join('');
      return [el.getAttribute('aria-label'), byIds, labels, el.textContent, images, el.getAttribute('title')]
        .some((text) => (text ?? '').trim() !== '');
    };
    const controls = 'button, a[href], input:not([type=hidden]), select, textarea, summary, iframe';
    return [...document.querySelectorAll(controls)]
      .filter((el) => (el.tagName === 'IFRAME' ? !(el.getAttribute('title') ?? '').trim() : !named(el)))
      .map((el) => el.outerHTML.slice(0, 120));
  });
}

/** The page's horizontal overflow in CSS pixels; 0 when it fits. */
async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

async function newGeneration(page, prompt) {
  await open(page, '/', 'Describe your app');
  const box = page.getByLabel('What should it do?');
  await box.fill(prompt);
  await box.press('Control+Enter');
  await page.waitForURL(/\/generations\/[^/]+\/[^/]+$/);
  await page.locator('.gen-title .badge').waitFor();
  const [, namespace, name] = new URL(page.url()).pathname.split('/').slice(1);
  return { namespace: decodeURIComponent(namespace), name: decodeURIComponent(name), path: new URL(page.url()).pathname };
}

async function signUp(page, username, invite) {
  await open(page, '/signup', 'Create an account');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  if (invite) await page.getByLabel('Invite code').fill(invite);
  await page.getByRole('button', { name: 'Create account' }).click();
  await heading(page, 'Describe your app');
  check((await page.locator('.topbar .username').textContent()) === username, `the top bar does not show ${username}`);
}

async function userA(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  watch(page, 'user A');
  // The embedded preview loads the live address as soon as it is known, which can be before the
  // app has booted; meanwhile the address answers 503 with a page that reloads itself.
  expectError((url) => url.origin !== new URL(BASE).origin, 503);

  step('signed out, / goes to the sign-in page');
  await page.goto(BASE + '/');
  await heading(page, 'Sign in to appgen');
  check(new URL(page.url()).pathname === '/signin', `expected /signin, got ${page.url()}`);
  await shot(page, 'signin');
  const config = await page.evaluate(() => fetch('/api/v1/config').then((r) => r.json()));
  check(config.signup !== 'closed', 'sign-up is closed on this server; the e2e test needs open or invite sign-up');

  step('user A signs up: the first account is an admin');
  await signUp(page, 'alice');
  check(await page.getByRole('link', { name: 'Admin' }).isVisible(), 'the first user has no Admin link: is the data dir fresh?');

  step('new app: the name follows the prompt');
  const box = page.getByLabel('What should it do?');
  await box.fill(PROMPT);
  const suggested = await page.getByLabel('App name').inputValue();
  check(suggested === 'todo-list', `suggested app name is ${JSON.stringify(suggested)}, expected "todo-list"`);
  await shot(page, 'new-app');
  await box.press('Control+Enter');
  await page.waitForURL(/\/generations\/[^/]+\/[^/]+$/);
  const first = new URL(page.url()).pathname;
  step(`generation page ${first}: watching it live`);

  let sawLive = false;
  let liveShot = false;
  let mostSteps = 0;
  let dropped = false;
  await waitForPhase(page, ['Delivered'], DELIVER_WITHIN_MS, async (phase) => {
    const steps = await page.locator('.timeline > li').count();
    mostSteps = Math.max(mostSteps, steps);
    if (phase === 'Running' || (await page.getByText('running…').count()) > 0) sawLive = true;
    if (sawLive && steps >= 2 && !dropped) {
      dropped = true;
      step('the network drops for 3 s while the page follows the generation');
      offline = true;
      await page.context().setOffline(true);
      await page.waitForTimeout(3000);
      await page.context().setOffline(false);
      await page.waitForTimeout(500);
      offline = false;
    }
    if (sawLive && steps >= 3 && !liveShot) {
      await shot(page, 'generation-live');
      liveShot = true;
    }
  });
  if (!liveShot) await shot(page, 'generation-live');
  check(sawLive, 'never saw the generation running: the page did not follow it live');
  const timeline = page.getByRole('list', { name: 'Progress' });
  await timeline.getByText('Deliver', { exact: true }).waitFor();
  const stepsDone = await timeline.locator(':scope > li').count();
  check(stepsDone >= 5, `the timeline shows ${stepsDone} steps after delivery, expected the whole pipeline`);
  check(mostSteps > 1, 'the timeline never filled in');
  const passed = await timeline.getByText('✓ passed').count();
  check(passed >= 4, `the timeline shows ${passed} passed gates, expected install, typecheck, build, test, …`);
  check((await page.getByText('reconnecting…').count()) === 0, 'the page still says reconnecting… after delivery');
  check(dropped, 'the network was never dropped while the generation ran');
  const titles = await timeline.locator(':scope > li .step-title').allTextContents();
  check(
    new Set(titles).size === titles.length,
    `after the network drop the timeline repeats a step: ${titles.join(', ')}`,
  );
  await page.getByRole('heading', { name: 'What the agent understood' }).waitFor();
  await shot(page, 'generation-delivered');

  step('download the archive');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: /^Download source/ }).click(),
  ]);
  const file = await download.path();
  const bytes = readFileSync(file);
  check(bytes[0] === 0x1f && bytes[1] === 0x8b, `the download ${download.suggestedFilename()} is not gzip`);
  check(statSync(file).size > 1024, `the download is only ${statSync(file).size} bytes`);
  step(`downloaded ${download.suggestedFilename()}, ${bytes.length} bytes`);

  step('open the live URL');
  const liveLink = page.getByRole('link', { name: 'Open live app ↗' });
  const hasLiveUrl = await liveLink
    .waitFor({ timeout: LIVE_WITHIN_MS })
    .then(() => true)
    .catch(() => false);
  if (!hasLiveUrl) {
    fail(`the delivered generation has no live URL (status.outputs.url) ${LIVE_WITHIN_MS / 1000} s after delivery`);
  } else {
    const url = await liveLink.getAttribute('href');
    check((await liveLink.getAttribute('target')) === '_blank', 'the live link does not open a new tab');
    // Until the app has booted, its address answers a page that says so and reloads itself;
    // the embedded preview shows when the app itself is there.
    const preview = page.frameLocator('iframe[title^="Live preview"]');
    await until(
      async () => isTheApp(await preview.locator('body').innerText()),
      LIVE_WITHIN_MS,
      `the app in the embedded preview of ${url}`,
    );
    await shot(page, 'generation-delivered');
    const [tab] = await Promise.all([context.waitForEvent('page'), liveLink.click()]);
    watch(tab, 'live app');
    await until(async () => isTheApp(await tab.locator('body').innerText()), 30_000, `the live app at ${url} in a tab`);
    const health = await tab.evaluate(() => fetch('/api/health').then((r) => r.status));
    check(health === 200, `the live app's /api/health answered ${health}`);
    await shot(tab, 'live-app');
    const answer = (await tab.locator('body').innerText()).trim().split('\n')[0].slice(0, 60);
    step(`live app at ${url} answered: ${answer}`);
    await tab.close();
  }

  step('continue the app with a follow-up');
  await page.getByLabel('What should change?').fill(FOLLOW_UP);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((url) => url.pathname !== first && /^\/generations\/[^/]+\/[^/]+$/.test(url.pathname));
  await heading(page, 'todo-list');
  await page.locator('.gen-header').getByText('continues').waitFor();
  await page.getByText(FOLLOW_UP).waitFor();
  const followUp = new URL(page.url()).pathname;
  const followUpPhase = await waitForPhase(page, ['Running', 'Delivered'], 120_000);
  step(`follow-up ${followUp} is ${followUpPhase}`);

  step('start another generation and cancel it');
  const doomed = await newGeneration(page, CANCEL_PROMPT);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await waitForPhase(page, ['Cancelled'], 120_000);
  step(`${doomed.name} is Cancelled`);

  step('the follow-up reaches Delivered too');
  await open(page, followUp, 'todo-list');
  await waitForPhase(page, ['Delivered'], DELIVER_WITHIN_MS);

  step('generations, apps, tokens and admin pages');
  await open(page, '/generations', 'Generations');
  await page.locator('.cards .badge', { hasText: 'Cancelled' }).first().waitFor();
  const cards = await page.locator('.cards > li').count();
  check(cards === 3, `the generations list shows ${cards} generations, expected 3`);
  await shot(page, 'generations');

  await open(page, '/apps', 'Apps');
  const todoApp = page.locator('section.app', { has: page.getByRole('heading', { name: 'todo-list' }) });
  await todoApp.waitFor();
  const versions = await todoApp.locator('.versions > li').count();
  check(versions === 2, `the apps page shows ${versions} versions of todo-list, expected 2`);
  await shot(page, 'apps');

  await open(page, '/settings/tokens', 'API tokens');
  await page.getByLabel('Token name').fill('e2e');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = await page.getByLabel('New token e2e').inputValue();
  check(token.length >= 16, 'the new token is not shown');
  const tokenStatus = await page.evaluate(
    (t) => fetch('/api/v1/generations', { headers: { Authorization: `Bearer ${t}` }, credentials: 'omit' }).then((r) => r.status),
    token,
  );
  check(tokenStatus === 200, `the new token does not authenticate (GET /api/v1/generations answered ${tokenStatus})`);
  await shot(page, 'tokens');
  await page.getByRole('button', { name: 'Revoke e2e' }).click();
  await page.getByText('No tokens yet.').waitFor();

  await open(page, '/admin', 'Administration');
  await page.locator('.cards .card-title', { hasText: 'alice' }).first().waitFor();
  let invite;
  if (config.signup === 'invite') {
    await page.getByRole('button', { name: 'Create invite code' }).click();
    invite = await page.getByLabel('Invite code').inputValue();
  }
  await shot(page, 'admin');

  step('every main page fits 360 px without horizontal scrolling, and every control has an accessible name');
  await page.setViewportSize({ width: 360, height: 800 });
  for (const [path, title] of [
    ['/', 'Describe your app'],
    ['/generations', 'Generations'],
    [first, 'todo-list'],
    ['/apps', 'Apps'],
    ['/settings/tokens', 'API tokens'],
    ['/admin', 'Administration'],
  ]) {
    await open(page, path, title);
    await page.waitForTimeout(300);
    const extra = await overflow(page);
    if (extra > 0) fail(`${path} is ${extra} px wider than a 360 px screen`);
    const nameless = await unlabelled(page);
    if (nameless.length > 0) fail(`${path} has controls without an accessible name: ${nameless.join(' | ')}`);
  }
  await open(page, first, 'todo-list');
  await shot(page, 'generation-360');

  step('sign out');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await heading(page, 'Sign in to appgen');
  await open(page, '/generations', 'Sign in to appgen');
  await context.close();
  return { first, invite };
}

async function userB(browser, { first, invite }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  watch(page, 'user B');
  const [, , namespace, name] = first.split('/');
  // B asks for A's generation on purpose; the page and the API must answer 404.
  const theirs = `/api/v1/generations/${namespace}/${name}`;
  expectError((url) => url.pathname === theirs || url.pathname.startsWith(`${theirs}/`), 404);

  step('user B signs up in a fresh browser');
  await signUp(page, 'bob', invite);
  check(!(await page.getByRole('link', { name: 'Admin' }).isVisible()), 'the second user has an Admin link');

  await open(page, '/generations', 'Generations');
  await page.getByText('No generations yet.').waitFor();
  await open(page, '/apps', 'Apps');
  await page.getByText('No apps yet.').waitFor();

  step(`user B opens A's generation ${first}`);
  await open(page, first, 'Not found');
  const statuses = await page.evaluate(
    (base) => Promise.all(['', '/events', '/archive'].map((tail) => fetch(base + tail).then((r) => r.status))),
    `/api/v1/generations/${namespace}/${name}`,
  );
  check(statuses.every((s) => s === 404), `B's requests for A's generation, events and archive answered ${statuses.join(', ')}, expected 404`);
  await open(page, '/admin', 'Not found');
  await context.close();
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
let crashed;
try {
  const fromA = await userA(browser);
  await userB(browser, fromA);
} catch (error) {
  crashed = error;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      await page.screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
    }
  }
} finally {
  await browser.close();
}

if (crashed) fail(crashed instanceof Error ? crashed.message : String(crashed));
console.log(`e2e: screenshots in ${SHOTS}`);
if (failures.length > 0) {
  console.error(`e2e: ${failures.length} failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log(`e2e: everything held (${((Date.now() - started) / 1000).toFixed(0)} s)`);
