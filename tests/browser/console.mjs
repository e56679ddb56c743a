// The console (/console) in headless Chromium, as the demo's Hanna Holm (MX-ONE user):
// sign in with the persona picker; My Numbers shows a provisioned number's lock as an "i" hint;
// a bad remote extension is refused with the error next to its field, a good one is added; a
// second window signed in as Hanna follows a status change made in the first without a reload;
// nothing is loaded from outside the server. The Account Portal's walk is portal.mjs.
// `node console.mjs <base-url> <screenshot-dir>`; prints one JSON line of what it saw, or fails.
import { session } from './console-session.mjs';

const [base, shots] = process.argv.slice(2);
const { browser, external, errors, signedIn, audit, token, graphql } = await session(base);
const seen = {};

try {
  const page = await signedIn('Hanna Holm');
  seen.who = (await page.locator('[data-testid=who]').innerText()).trim();
  const hint = page.locator('tr', { hasText: 'Admin:' }).locator('.hint');
  seen.provisionedHint = await hint.getAttribute('aria-label');
  // From the keyboard: the "i" takes the focus, and Enter shows the reason beside it.
  await hint.focus();
  await page.keyboard.press('Enter');
  seen.hintShown = (await page.locator('tr', { hasText: 'Admin:' }).locator('.reason').innerText()).trim();

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
  await page.getByRole('button', { name: 'Set status' }).click();
  await other.waitForFunction(
    (name) => document.querySelector('[data-testid=active-status]')?.textContent?.includes(name),
    name, { timeout: 20000 });
  seen.live = { before, after: (await other.locator('[data-testid=active-status]').innerText()).trim(), expected: name };
  if (shots) await other.screenshot({ path: `${shots}/console-live-status.png`, fullPage: true });

  // A status built around the new remote extension: choosing it fills Call using and Send my
  // calls to (R8); activated, call through switched on is in effect (R9, R11), and the number
  // is locked while its status is active, with the reason as the hint (R5).
  await page.getByRole('button', { name: 'Add status' }).click();
  await page.fill('#status-new-name', 'Summer');
  const summer = await page.$$eval('#status-new-remoteExtensionId option', (os) => os.find((o) => o.textContent.startsWith('Summer house'))?.value);
  await page.selectOption('#status-new-remoteExtensionId', summer);
  const selected = (id) => page.$eval(id, (s) => s.selectedOptions[0]?.textContent);
  seen.filled = { callUsing: await selected('#status-new-callUsing'), sendCallsTo: await selected('#status-new-sendCallsTo') };
  const statusForm = await audit(page);
  await page.getByRole('button', { name: 'Save status' }).click();
  await page.waitForSelector('tr[data-status="Summer"]', { timeout: 20000 });
  seen.status = (await page.locator('tr[data-status="Summer"]').innerText()).replace(/\s+/g, ' ').trim();
  const option = await page.$$eval('#availability option', (os) => os.find((o) => o.textContent.startsWith('Summer'))?.value);
  await page.selectOption('#availability', option);
  await page.getByRole('button', { name: 'Set status' }).click();
  await page.waitForFunction(() => /Summer/.test(document.querySelector('[data-testid=active-status]')?.textContent ?? ''), null, { timeout: 20000 });
  await page.getByRole('button', { name: 'Edit Summer house', exact: true }).click();
  seen.numberLockedInForm = (await page.locator('#edit-number-value').getAttribute('readonly')) !== null;
  await page.check('#edit-call-through');
  await page.getByRole('button', { name: 'Save number' }).click();
  await page.waitForFunction(() => /In effect/.test(document.querySelector('tr[data-number="09818123456"]')?.textContent ?? ''), null, { timeout: 20000 });
  const row = page.locator('tr[data-number="09818123456"]');
  seen.callThrough = (await row.innerText()).replace(/\s+/g, ' ').trim();
  seen.activeLockHint = await row.locator('.hint').getAttribute('aria-label');
  if (shots) await page.screenshot({ path: `${shots}/console-my-numbers.png`, fullPage: true });

  // An edit made on a status that another client renamed meanwhile is refused as stale, and
  // the form starts again from the status as it is now (the rename is not undone).
  await page.getByRole('button', { name: 'Edit Summer', exact: true }).click();
  const form = '[aria-labelledby^="status-"][aria-labelledby$="-title"]';
  await page.waitForSelector(form, { timeout: 20000 });
  const hanna = await token(page, 'Hanna Holm');
  const mine = await graphql(hanna, '{ me { dynamicStatuses { id name } } }');
  const summerId = mine.data.me.dynamicStatuses.find((s) => s.name === 'Summer').id;
  await graphql(hanna, 'mutation($i: DynamicStatusUpdateInput!) { dynamicStatusUpdate(input: $i) { userErrors { code } } }',
    { i: { id: summerId, name: 'Summer cottage' } });
  await page.waitForSelector('tr[data-status="Summer cottage"]', { timeout: 20000 });
  await page.locator(form).locator('select[id$="-presence"]').selectOption('BUSY');
  await page.getByRole('button', { name: 'Save status' }).click();
  await page.waitForFunction(() => /changed elsewhere/.test(document.querySelector('[aria-labelledby$="-title"] .error')?.textContent ?? ''), null, { timeout: 20000 });
  await page.waitForFunction((f) => document.querySelector(f)?.querySelector('input[id$="-name"]')?.value === 'Summer cottage', form, { timeout: 20000 });
  seen.stale = {
    name: await page.locator(form).locator('input[id$="-name"]').inputValue(),
    presence: await page.locator(form).locator('select[id$="-presence"]').inputValue(),
    row: (await page.locator('tr[data-status="Summer cottage"]').innerText()).replace(/\s+/g, ' ').trim(),
  };

  // Accessibility (axe-core's WCAG 2.1 A/AA rules, serious and critical findings): the sign-in
  // page, Hanna's screen with the status form open and as it ends.
  const fresh = await browser.newPage();
  await fresh.goto(`${base}/console`);
  await fresh.waitForSelector('#persona', { timeout: 20000 });
  seen.a11y = { signIn: await audit(fresh), statusForm, myScreen: await audit(page) };

  // A phone-sized screen: the page fits its width (tables scroll inside their section).
  const phone = await signedIn('Hanna Holm', 'table tbody tr', { width: 375, height: 740 });
  seen.phone = await phone.evaluate(() => ({
    width: innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    // What sticks out, to say what to fix.
    wide: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && !e.parentElement.closest('table'))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + e.className : ''}`),
  }));
  if (shots) await phone.screenshot({ path: `${shots}/console-phone.png`, fullPage: true });

  seen.external = external;
  seen.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
