// The smoke gate: loads the running app in headless Chromium and reports, as one JSON line on
// stdout, the console errors it saw and which expected texts were missing. The generator decides.
// Usage: node smoke.mjs <chromium> <url> <screenshot.png> <expected texts as a JSON array>
import { chromium } from 'playwright-core';

const [executablePath, url, screenshot, expectedJson] = process.argv.slice(2);
const expected = JSON.parse(expectedJson ?? '[]');

const browser = await chromium.launch({
  executablePath,
  // Flags that keep Chromium off the network it cannot reach here and quiet as root in a sandbox.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
  ],
});
const report = { consoleErrors: [], missing: [], title: '' };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (message) => {
    if (message.type() === 'error') report.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => report.consoleErrors.push(String(error)));
  // A failed load logs only "Failed to load resource"; this names what failed.
  page.on('response', (response) => {
    if (response.status() >= 400) report.consoleErrors.push(`${response.status()} for ${response.url()}`);
  });
  page.on('requestfailed', (request) =>
    report.consoleErrors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  await page.goto(url, { waitUntil: 'networkidle', timeout: 20000 });
  report.title = await page.title();
  const text = await page.locator('body').innerText();
  report.missing = expected.filter((wanted) => !text.toLowerCase().includes(wanted.toLowerCase()));
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
