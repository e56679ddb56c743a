// The console (/console) in headless Chromium, as the demo's Hanna Holm (MX-ONE user):
// sign in with the persona picker; My Numbers shows a provisioned number's lock as an "i" hint;
// a bad remote extension is refused with the error next to its field, a good one is added; a
// second window signed in as Hanna follows a status change made in the first without a reload;
// nothing is loaded from outside the server. `node console.mjs <base-url> <screenshot-dir>`;
// prints one JSON line of what it saw, or fails.
import { launch } from './launch.mjs';

const [base, shots] = process.argv.slice(2);
const browser = await launch();
const seen = {};
const external = [];
const errors = [];

async function signedIn(name, ready = 'table tbody tr') {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(base) && !url.startsWith(base.replace('http', 'ws')) && !url.startsWith('data:')) external.push(url);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${base}/console`);
  await page.waitForSelector('#persona', { timeout: 20000 });
  const options = await page.$$eval('#persona option', (os) => os.map((o) => ({ value: o.value, text: o.textContent })));
  const persona = options.find((o) => o.text.startsWith(name));
  if (!persona) throw new Error(`no ${name} among ${JSON.stringify(options.map((o) => o.text))}`);
  await page.selectOption('#persona', persona.value);
  await page.getByRole('button', { name: 'Sign in as this persona' }).click();
  await page.waitForSelector('[data-testid=who]', { timeout: 20000 });
  await page.waitForSelector(ready, { timeout: 20000 });
  return page;
}

try {
  const page = await signedIn('Hanna Holm');
  seen.who = (await page.locator('[data-testid=who]').innerText()).trim();
  seen.provisionedHint = await page.locator('tr', { hasText: 'Admin:' }).locator('.hint').getAttribute('aria-label');
  if (shots) await page.screenshot({ path: `${shots}/console-my-numbers.png`, fullPage: true });

  // A remote extension must be digits: the error shows under the number field, nothing is added.
  const rows = await page.locator('table tbody tr').count();
  await page.fill('#new-label', 'Summer house');
  await page.fill('#new-number', '+4612');
  await page.check('#new-remote');
  await page.getByRole('button', { name: 'Add Number' }).click();
  await page.waitForSelector('#new-number-error', { timeout: 20000 });
  seen.numberError = (await page.locator('#new-number-error').innerText()).trim();
  seen.rowsAfterRefusal = (await page.locator('table tbody tr').count()) - rows;

  // Then a good one.
  await page.fill('#new-number', '09818123456');
  await page.getByRole('button', { name: 'Add Number' }).click();
  await page.waitForSelector('tr[data-number="09818123456"]', { timeout: 20000 });
  seen.added = (await page.locator('tr[data-number="09818123456"]').innerText()).replace(/\s+/g, ' ').trim();

  // A second window follows a change made in the first.
  const other = await signedIn('Hanna Holm');
  const before = (await other.locator('[data-testid=active-status]').innerText()).trim();
  const choices = await page.$$eval('#availability option', (os) => os.map((o) => ({ value: o.value, text: o.textContent })));
  const next = choices.find((o) => o.value && !before.includes(o.text.replace(/ \(rings .*\)$/, '')));
  if (!next) throw new Error(`no other status than ${before} among ${JSON.stringify(choices)}`);
  const name = next.text.replace(/ \(rings .*\)$/, '');
  await other.waitForTimeout(500); // the second window's subscriptions start
  await page.selectOption('#availability', next.value);
  await other.waitForFunction(
    (name) => document.querySelector('[data-testid=active-status]')?.textContent?.includes(name),
    name, { timeout: 20000 });
  seen.live = { before, after: (await other.locator('[data-testid=active-status]').innerText()).trim(), expected: name };
  if (shots) await other.screenshot({ path: `${shots}/console-live-status.png`, fullPage: true });

  // Connect for Mobile: a location Phone Manager sees the add-on's state and is offered no
  // activation (M1); Dana Decider (Decision Maker) activates it through the dialog.
  const lee = await signedIn('Lee Local', '[data-testid=mobility-state]');
  seen.leeState = (await lee.locator('[data-testid=mobility-state]').innerText()).trim();
  seen.leeOffered = await lee.getByRole('button', { name: 'Activate Connect for Mobile' }).count();
  const dana = await signedIn('Dana Decider', '[data-testid=mobility-state]');
  seen.danaBefore = (await dana.locator('[data-testid=mobility-state]').innerText()).trim();
  await dana.getByRole('button', { name: 'Activate Connect for Mobile' }).click();
  await dana.waitForSelector('#voicemailAccessNumber', { timeout: 20000 });
  const activate = dana.getByRole('button', { name: 'Activate', exact: true });
  seen.suggested = await dana.inputValue('#voicemailAccessNumber');
  seen.offeredBeforeConfirm = await activate.isEnabled();
  await dana.fill('#voicemailAccessNumber', '12');
  await dana.check('#confirm-purchase');
  await activate.click();
  await dana.waitForSelector('#voicemailAccessNumber-error', { timeout: 20000 });
  seen.voicemailError = (await dana.locator('#voicemailAccessNumber-error').innerText()).trim();
  seen.stateAfterRefusal = (await dana.locator('[data-testid=mobility-state]').innerText()).trim();
  if (shots) await dana.screenshot({ path: `${shots}/console-activate.png`, fullPage: true });
  await dana.fill('#voicemailAccessNumber', seen.suggested);
  await activate.click();
  await dana.waitForFunction(() => /Support is completing/.test(document.querySelector('[data-testid=mobility-state]')?.textContent ?? ''), null, { timeout: 20000 });
  seen.danaAfter = (await dana.locator('[data-testid=mobility-state]').innerText()).trim();
  seen.external = external;
  seen.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
