// The console's platform screen in headless Chromium, on the demo's Contoso Nordic (MX-ONE)
// with a stand-in platform on 127.0.0.1: Support opens the account, a base URL with
// credentials in it is refused under its field, the stand-in's address is saved and the run it
// starts at once moves to Succeeded on the page (live); then Erik Eriksson (Decision Maker) sees
// the connection without a way to change it, asks for a run with Sync now and sees it finish.
// `node sync.mjs <base-url> <platform-url> <platform-token> <screenshot-dir>`; prints one JSON
// line of what it saw, or fails.
import { session } from './console-session.mjs';

const [base, platform, platformToken, shots] = process.argv.slice(2);
const { browser, external, errors, signedIn, audit } = await session(base);
const seen = {};
const T = { timeout: 30000 };
const runs = async (page) =>
  page.$$eval('[data-testid=sync-run]', (rs) => rs.map((r) => ({ state: r.dataset.state, text: r.textContent })));
const waitRuns = (page, n) =>
  page.waitForFunction((n) => {
    const rs = [...document.querySelectorAll('[data-testid=sync-run]')];
    return rs.length >= n && rs.every((r) => r.dataset.state === 'SUCCEEDED' || r.dataset.state === 'FAILED');
  }, n, T);

try {
  const support = await signedIn('Support', '#accounts-search');
  await support.fill('#accounts-search', 'contoso');
  await support.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1, null, T);
  await support.getByRole('button', { name: 'Contoso Nordic' }).click();
  await support.waitForSelector('#platform-baseUrl', T);
  seen.runsBefore = await support.locator('[data-testid=sync-run]').count();
  const address = new URL(platform);
  await support.fill('#platform-baseUrl', `http://someone:secret@${address.host}`);
  await support.fill('#platform-platformAccount', 'contoso');
  await support.fill('#platform-token', platformToken);
  await support.getByRole('button', { name: 'Save connection' }).click();
  await support.waitForSelector('#platform-baseUrl-error', T);
  seen.urlError = (await support.locator('#platform-baseUrl-error').innerText()).trim();
  await support.fill('#platform-baseUrl', platform);
  await support.getByRole('button', { name: 'Save connection' }).click();
  await support.waitForSelector('[data-testid=platform-connection]', T);
  seen.connection = (await support.locator('[data-testid=platform-connection]').innerText()).trim();
  await waitRuns(support, 1);
  seen.supportRuns = await runs(support);
  if (shots) await support.screenshot({ path: `${shots}/console-sync.png`, fullPage: true });
  seen.a11y = { sync: await audit(support) };

  const erik = await signedIn('Erik Eriksson', '[data-testid=platform-connection]');
  seen.erikConnection = (await erik.locator('[data-testid=platform-connection]').innerText()).trim();
  seen.erikForm = await erik.locator('#platform-baseUrl').count();
  const before = await erik.locator('[data-testid=sync-run]').count();
  await erik.getByRole('button', { name: 'Sync now' }).click();
  await waitRuns(erik, before + 1);
  seen.erikRuns = await runs(erik);
  // Support's page, still open, got Erik's run live too.
  await waitRuns(support, before + 1);
  seen.supportSawErik = (await runs(support)).length;

  seen.external = external;
  seen.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
