// The console's Account Portal in headless Chromium, the whole Connect for Mobile walk on the
// demo's Northwind Traders: a location Phone Manager is offered no activation; Dana Decider
// (Decision Maker) activates through the dialog (a refused voicemail number first); Support
// finds the account, completes the set-up and edits the settings, an edit made on settings
// that changed meanwhile is refused and the dialog shows the new values; Dana reads the
// settings without editing them, adds two users with the wizard (a deliberate extension
// conflict shown beside its row in the summary, then fixed), filters the list, edits an
// extension (a conflict refused under it) and disables a user after a confirmation; the
// location Phone Manager's list holds only their location's users.
// `node portal.mjs <base-url> <screenshot-dir>`; prints one JSON line of what it saw, or fails.
import { session } from './console-session.mjs';

const [base, shots] = process.argv.slice(2);
const { browser, external, errors, signedIn, token, graphql, audit } = await session(base);
const seen = { a11y: {} };
const T = { timeout: 20000 };
const text = async (locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();
const state = (page) => text(page.locator('[data-testid=mobility-state]'));
const waitState = (page, pattern) =>
  page.waitForFunction(
    (p) => new RegExp(p).test(document.querySelector('[data-testid=mobility-state]')?.textContent ?? ''),
    pattern, T);
const rows = async (page) =>
  (await page.locator('[data-testid=mobility-user]').allInnerTexts()).map((r) => r.split('\t')[0].trim());
const waitCount = (page, pattern) =>
  page.waitForFunction(
    (p) => new RegExp(p).test(document.querySelector('[data-testid=users-count]')?.textContent ?? ''),
    pattern, T);

try {
  // M1: a location Phone Manager sees the add-on's state and is offered no activation.
  const lee = await signedIn('Lee Local', '[data-testid=mobility-state]');
  seen.leeState = await state(lee);
  seen.leeOffered = await lee.getByRole('button', { name: 'Activate Connect for Mobile' }).count();

  // Dana activates: the voicemail number suggested, Activate offered once the purchase is
  // confirmed, a bad number refused under its field with nothing changed.
  let dana = await signedIn('Dana Decider', '[data-testid=mobility-state]');
  seen.danaBefore = await state(dana);
  await dana.getByRole('button', { name: 'Activate Connect for Mobile' }).click();
  await dana.waitForSelector('#voicemailAccessNumber', T);
  const activate = dana.getByRole('button', { name: 'Activate', exact: true });
  seen.suggested = await dana.inputValue('#voicemailAccessNumber');
  seen.offeredBeforeConfirm = await activate.isEnabled();
  await dana.fill('#voicemailAccessNumber', '12');
  await dana.check('#confirm-purchase');
  await activate.click();
  await dana.waitForSelector('#voicemailAccessNumber-error', T);
  seen.voicemailError = await text(dana.locator('#voicemailAccessNumber-error'));
  seen.stateAfterRefusal = await state(dana);
  if (shots) await dana.screenshot({ path: `${shots}/console-activate.png`, fullPage: true });
  seen.a11y.activate = await audit(dana);
  await dana.fill('#voicemailAccessNumber', seen.suggested);
  await dana.getByLabel('Send email notification').check();
  await activate.click();
  await waitState(dana, 'Support is completing');
  seen.danaAfter = await state(dana);

  // Support finds the account and completes the set-up (M3).
  const support = await signedIn('Support', '#accounts-search');
  await support.fill('#accounts-search', 'north');
  await support.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1, null, T);
  seen.supportFound = await support.locator('tbody tr').allInnerTexts();
  seen.a11y.accounts = await audit(support);
  await support.getByRole('button', { name: 'Northwind Traders' }).click();
  await waitState(support, 'Support is completing');
  await support.fill('#mobilityRouter', 'mr1.example.net');
  await support.getByRole('button', { name: 'Complete set-up' }).click();
  await support.waitForSelector('#groupName-error', T);
  seen.groupError = await text(support.locator('#groupName-error'));
  await support.fill('#groupName', 'northwind');
  await support.getByRole('button', { name: 'Complete set-up' }).click();
  await waitState(support, 'Active');
  seen.supportState = await state(support);

  // Support edits the settings; another client changes them first: the save is refused as
  // stale and the dialog shows the new values; the edit made again is saved (M4).
  await support.getByRole('button', { name: 'Settings' }).click();
  await support.waitForSelector('#settings-handoverNumber', T);
  seen.supportEditable = !(await support.locator('#settings-handoverNumber').getAttribute('readonly'));
  const supportToken = await token(support, 'Support');
  const ids = await graphql(supportToken, '{ accounts(search: "Northwind") { nodes { id mobility { settings { version } } } } }');
  const account = ids.data.accounts.nodes[0];
  const behind = await graphql(supportToken,
    'mutation($i: MobilitySettingsUpdateInput!) { mobilitySettingsUpdate(input: $i) { userErrors { code } } }',
    { i: { accountId: account.id, expectedVersion: account.mobility.settings.version, reverseDialNumber: '6465690000' } });
  seen.behindErrors = behind.data.mobilitySettingsUpdate.userErrors;
  await support.fill('#settings-handoverNumber', '6465691111');
  await support.getByRole('button', { name: 'Save' }).click();
  await support.waitForFunction(() => /changed by someone else/.test(document.querySelector('.notice')?.textContent ?? ''), null, T);
  seen.staleNotice = await text(support.locator('.notice'));
  seen.staleShows = {
    reverseDial: await support.inputValue('#settings-reverseDialNumber'),
    handover: await support.inputValue('#settings-handoverNumber'),
  };
  await support.fill('#settings-handoverNumber', '6465691111');
  await support.getByRole('button', { name: 'Save' }).click();
  await support.waitForFunction(() => /Saved/.test(document.querySelector('.notice')?.textContent ?? ''), null, T);
  seen.savedHandover = await support.inputValue('#settings-handoverNumber');

  // Dana reads the settings but cannot change them; then adds users with the wizard.
  dana = await signedIn('Dana Decider', '[data-testid=users-count]');
  seen.danaUsersBefore = await text(dana.locator('[data-testid=users-count]'));
  await dana.getByRole('button', { name: 'Settings' }).click();
  await dana.waitForSelector('#settings-handoverNumber', T);
  seen.danaSettings = {
    handover: await dana.inputValue('#settings-handoverNumber'),
    readOnly: (await dana.locator('#settings-handoverNumber').getAttribute('readonly')) !== null,
    save: await dana.getByRole('button', { name: 'Save' }).count(),
  };
  await dana.getByRole('button', { name: 'Close' }).click();

  await dana.getByRole('button', { name: 'Add users' }).click();
  await dana.waitForSelector('.choices li', T);
  seen.eligible = (await dana.locator('.choices li').allInnerTexts()).map((e) => e.trim());
  await dana.fill('#wizard-search', 'uma');
  await dana.waitForFunction(() => document.querySelectorAll('.choices li').length === 1, null, T);
  await dana.getByRole('checkbox', { name: /Uma User/ }).check();
  await dana.fill('#wizard-search', '1007');
  await dana.waitForFunction(() => /Ezra/.test(document.querySelector('.choices')?.textContent ?? ''), null, T);
  await dana.getByRole('checkbox', { name: /Ezra Elite/ }).check();
  await dana.getByRole('button', { name: 'Next', exact: true }).click();
  // A deliberate conflict: Uma gets Dana's own extension.
  await dana.getByLabel('Mobility extension of Uma User').fill('1001');
  await dana.getByLabel('Mobility extension of Ezra Elite').fill('8007');
  await dana.getByRole('button', { name: 'Next', exact: true }).click();
  await dana.waitForSelector('text=Step 3 of 3', T);
  const summary = await dana.locator('[data-testid=wizard-row]').allInnerTexts();
  seen.summaryWithConflict = summary.map((r) => r.replace(/\s+/g, ' ').trim());
  seen.finishOffered = await dana.getByRole('button', { name: 'Finish' }).isEnabled();
  if (shots) await dana.screenshot({ path: `${shots}/console-wizard.png`, fullPage: true });
  seen.a11y.wizardSummary = await audit(dana);
  await dana.getByRole('button', { name: 'Back', exact: true }).click();
  await dana.getByLabel('Mobility extension of Uma User').fill('8004');
  await dana.getByRole('button', { name: 'Next', exact: true }).click();
  await dana.waitForFunction(() => document.querySelectorAll('[data-testid=wizard-row]').length === 2
    && [...document.querySelectorAll('[data-testid=wizard-row]')].every((r) => r.textContent.endsWith('OK')), null, T);
  seen.summaryFixed = (await dana.locator('[data-testid=wizard-row]').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
  await dana.getByRole('button', { name: 'Finish' }).click();
  await dana.getByRole('button', { name: 'Enable 2 users' }).click();
  await waitCount(dana, '^2 users');
  seen.enabled = await rows(dana);
  if (shots) await dana.screenshot({ path: `${shots}/console-users.png`, fullPage: true });
  seen.a11y.users = await audit(dana);

  // The per-column filter and the toolbar search.
  await dana.getByLabel('Filter by mobility extension').fill('8004');
  await waitCount(dana, '^1 user$');
  seen.filtered = await rows(dana);
  await dana.getByLabel('Filter by mobility extension').fill('');
  await waitCount(dana, '^2 users');
  await dana.fill('#users-search', 'ezra');
  await waitCount(dana, '^1 user$');
  seen.searched = await rows(dana);
  await dana.fill('#users-search', '');
  await waitCount(dana, '^2 users');

  // A location Phone Manager's list: their location's users only (M11).
  const lee2 = await signedIn('Lee Local', '[data-testid=users-count]');
  seen.leeUsers = await rows(lee2);

  // Edit Uma's mobility extension: a conflict is refused under the field, then a free one.
  await dana.getByRole('button', { name: 'Edit the mobility extension of Uma User' }).click();
  const field = dana.getByLabel('Mobility extension of Uma User');
  await field.fill('8007');
  await dana.getByRole('button', { name: 'Save', exact: true }).click();
  await dana.waitForSelector('[data-testid=mobility-user] .error', T);
  seen.editError = await text(dana.locator('[data-testid=mobility-user] .error'));
  await field.fill('8014');
  await dana.getByRole('button', { name: 'Save', exact: true }).click();
  await dana.waitForFunction(() => /8014/.test(document.querySelector('tbody')?.textContent ?? ''), null, T);
  seen.edited = (await dana.locator('[data-testid=mobility-user]', { hasText: 'Uma User' }).innerText()).replace(/\s+/g, ' ').trim();

  // Disable Ezra, after the confirmation.
  await dana.getByRole('button', { name: 'Disable Ezra Elite' }).click();
  seen.confirmation = await text(dana.getByRole('alertdialog'));
  await dana.getByRole('button', { name: 'Disable Ezra Elite' }).click();
  await waitCount(dana, '^1 user$');
  seen.afterDisable = await rows(dana);

  // Live: Support changes a setting from another client; Dana's page shows the notification it
  // queued for Uma, still enabled, without a reload (M6; the demo has no mail server, so the
  // mail stays queued).
  const before = await dana.locator('[data-testid=notification]').count();
  const now = (await graphql(supportToken, '{ accounts(search: "Northwind") { nodes { mobility { settings { version } } } } }'))
    .data.accounts.nodes[0].mobility.settings.version;
  await graphql(supportToken,
    'mutation($i: MobilitySettingsUpdateInput!) { mobilitySettingsUpdate(input: $i) { userErrors { code } } }',
    { i: { accountId: account.id, expectedVersion: now, handoverNumber: '6465692222' } });
  await dana.waitForFunction((n) => document.querySelectorAll('[data-testid=notification]').length > n, before, T);
  const newest = dana.locator('[data-testid=notification]').first();
  seen.notification = {
    before,
    changes: await newest.locator('li').allInnerTexts(),
    recipients: (await newest.locator('[data-testid=recipient]').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim()),
  };
  if (shots) await dana.screenshot({ path: `${shots}/console-notifications.png`, fullPage: true });
  seen.a11y.notifications = await audit(dana);

  // Support imports users from a CSV file: a line the file itself gets wrong is shown with its
  // line before anything is sent; a line the server refuses (an extension Dana has) is shown
  // with its line and column, and nothing is created; fixed, both users are created.
  const csv = (rows) => ({ name: 'users.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\r\n')) });
  const header = 'name,email,phoneNumber,extension,phoneProfile,location';
  await support.setInputFiles('#import-file', csv([header, 'Nia New,nia@northwind.example,+16175550110,1010,elite,Boston HQ', 'Omar Odd,,,1011,gold,']));
  await support.waitForFunction(() => document.querySelector('#import-text')?.value.includes('Omar'), null, T);
  await support.getByRole('button', { name: 'Import', exact: true }).click();
  await support.waitForSelector('[data-testid=import-errors]', T);
  seen.importFileErrors = (await support.locator('[data-testid=import-errors] tbody tr').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
  await support.fill('#import-text', [header, 'Nia New,nia@northwind.example,+16175550110,1010,elite,Boston HQ', '"Odd, Omar",,,1001,premier,Austin Office'].join('\n'));
  await support.getByRole('button', { name: 'Import', exact: true }).click();
  await support.waitForFunction(() => /1001|extension/.test(document.querySelector('[data-testid=import-errors]')?.textContent ?? '')
    && !/gold/.test(document.querySelector('[data-testid=import-errors]')?.textContent ?? ''), null, T);
  seen.importServerErrors = (await support.locator('[data-testid=import-errors] tbody tr').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
  const nia = '{ accounts(first: 1, search: "Northwind") { nodes { users(first: 5, search: "nia") { totalCount } } } }';
  seen.createdAfterRefusal = (await graphql(supportToken, nia)).data.accounts.nodes[0].users.totalCount;
  if (shots) await support.screenshot({ path: `${shots}/console-import.png`, fullPage: true });
  seen.a11y.supportAccount = await audit(support);
  await support.fill('#import-text', [header, 'Nia New,nia@northwind.example,+16175550110,1010,elite,Boston HQ', '"Odd, Omar",,,1011,premier,Austin Office'].join('\n'));
  await support.getByRole('button', { name: 'Import', exact: true }).click();
  await support.waitForSelector('text=Created 2 users.', T);
  seen.created = (await graphql(supportToken, nia)).data.accounts.nodes[0].users.totalCount;

  seen.external = external;
  seen.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
