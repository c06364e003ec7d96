// A live preview in headless Chromium, as a person uses it: through `appgen serve`'s own port at
// the app's stable address. Driven by cli/tests/preview.rs in two steps:
//
//   APPGEN_PREVIEW_URL=http://notes--default.localhost:18480/ APPGEN_STEP=record node ui/e2e/preview.mjs
//     opens the app, creates a Note through its own form, reloads, and finds the Note still there;
//   APPGEN_PREVIEW_URL=… APPGEN_STEP=follow-up node ui/e2e/preview.mjs
//     after a follow-up added Tags: the same address shows the new version (Tags in the
//     navigation, a Tag can be created) and the Note written before.
//
// Exits 0 when everything held, 1 with a message saying what did not. A console error or an
// uncaught page error fails the run.

import { chromium } from 'playwright-core';

const URL_ = process.env.APPGEN_PREVIEW_URL ?? '';
const STEP = process.env.APPGEN_STEP ?? '';
const NOTE = 'Written in Chromium through the preview';
const TAG = 'urgent';

if (!URL_ || !['record', 'follow-up'].includes(STEP)) {
  console.error('preview e2e: set APPGEN_PREVIEW_URL and APPGEN_STEP (record or follow-up)');
  process.exit(2);
}

const failures = [];

function watch(page) {
  page.on('console', (message) => {
    if (message.type() === 'error') failures.push(`console error on ${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => failures.push(`page error on ${page.url()}: ${error.message}`));
}

function check(condition, text) {
  if (!condition) throw new Error(text);
}

/** Opens the list of `plural` through the app's navigation. */
async function list(page, plural) {
  await page.getByRole('navigation', { name: 'Entities' }).getByRole('link', { name: plural }).click();
  await page.getByRole('heading', { name: plural, level: 1 }).waitFor();
}

/** Creates a record of `label` through its form, with `value` in its `field` input. */
async function create(page, plural, label, field, value) {
  await list(page, plural);
  await page.getByRole('link', { name: `New ${label}` }).click();
  await page.getByRole('heading', { name: `New ${label}`, level: 1 }).waitFor();
  await page.getByLabel(field, { exact: false }).first().fill(value);
  await page.getByRole('button', { name: `Create ${label}` }).click();
  await page.getByRole('heading', { name: value, level: 1 }).waitFor();
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
let crashed;
try {
  const page = await browser.newPage();
  watch(page);
  await page.goto(URL_);
  await page.getByRole('navigation', { name: 'Entities' }).waitFor();
  if (STEP === 'record') {
    await create(page, 'Notes', 'Note', 'Title', NOTE);
    console.log(`preview e2e: created a Note at ${page.url()}`);
    await page.reload();
    await page.getByRole('heading', { name: NOTE, level: 1 }).waitFor();
    await list(page, 'Notes');
    await page.reload();
    await page.getByRole('link', { name: NOTE }).waitFor();
    console.log('preview e2e: after a reload the Note is still there');
  } else {
    const nav = await page.getByRole('navigation', { name: 'Entities' }).innerText();
    check(/Tags/.test(nav), `the address still serves the old version: its navigation is ${JSON.stringify(nav)}`);
    await create(page, 'Tags', 'Tag', 'Name', TAG);
    await page.reload();
    await page.getByRole('heading', { name: TAG, level: 1 }).waitFor();
    await list(page, 'Notes');
    await page.getByRole('link', { name: NOTE }).waitFor();
    console.log('preview e2e: the new version serves Tags, and the Note written before');
  }
} catch (error) {
  crashed = error;
} finally {
  await browser.close();
}
if (crashed) failures.push(crashed.stack ?? String(crashed));
for (const failure of failures) console.error(`preview e2e: FAILED: ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
