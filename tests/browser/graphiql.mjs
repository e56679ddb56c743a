// GraphiQL's page in demo mode, in headless Chromium: before a token it says what to do; the
// persona picker sets a token and says who you are; `Viewer` then runs and answers as that
// persona. `node graphiql.mjs <base-url>`; prints one JSON line of what it saw, or fails.
import { launch } from './launch.mjs';

const base = process.argv[2];
const browser = await launch();
const seen = {};
try {
  const page = await browser.newPage();
  const external = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith('data:')) external.push(request.url());
  });
  await page.goto(`${base}/graphiql`);
  await page.waitForSelector('#reach-persona', { timeout: 20000 });

  // Before a token: run, and read what the result pane says.
  const results = page.locator('.result-window');
  await runOperation(page, 'Viewer');
  await page.waitForFunction(() => /No token yet/.test(document.querySelector('.result-window')?.innerText ?? ''), null, { timeout: 20000 });
  seen.beforeToken = (await results.innerText()).trim();

  // Pick Dana Decider.
  const options = await page.$$eval('#reach-persona option', (os) => os.map((o) => ({ value: o.value, text: o.textContent })));
  const dana = options.find((o) => o.text.startsWith('Dana Decider'));
  if (!dana) throw new Error(`no Dana Decider among ${JSON.stringify(options.map((o) => o.text))}`);
  await page.selectOption('#reach-persona', dana.value);
  seen.who = (await page.locator('#reach-who').innerText()).trim();
  seen.tokenSet = (await page.inputValue('#reach-token')) === dana.value;

  // Run Viewer as Dana.
  await runOperation(page, 'Viewer');
  await page.waitForFunction(() => /"kind": "USER"/.test(document.querySelector('.result-window')?.innerText ?? ''), null, { timeout: 20000 });
  const text = await results.innerText();
  seen.viewerName = /"name": "([^"]+)"/.exec(text)?.[1] ?? null;

  // Hanna (Contoso Nordic, MX-ONE): the ids AddRemoteExtension and BuildStatus create are put in
  // the variables the next steps read.
  const hanna = options.find((o) => o.text.startsWith('Hanna Holm'));
  if (!hanna) throw new Error('no Hanna Holm among the personas');
  await page.selectOption('#reach-persona', hanna.value);
  await page.waitForTimeout(600);
  seen.filled = {};
  for (const [operation, field, variable] of [['AddRemoteExtension', 'userNumber', 'myNumberId'], ['BuildStatus', 'dynamicStatus', 'statusId']]) {
    await runOperation(page, operation);
    await page.waitForFunction((field) => new RegExp(`"${field}": \\{\\s*"id"`).test(document.querySelector('.result-window')?.innerText ?? ''), field, { timeout: 20000 });
    const created = /"id": "([^"]+)"/.exec(await results.innerText())?.[1];
    const variables = await page.evaluate(() => Array.from(document.querySelectorAll('.CodeMirror'))
      .map((e) => e.CodeMirror?.getValue() ?? '').find((text) => text.includes('"myNumberId"')));
    seen.filled[variable] = created !== undefined && JSON.parse(variables)[variable] === created;
  }
  seen.external = external;
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));

// Puts the editor's cursor inside operation `name` and runs it with Ctrl-Enter (GraphiQL runs
// the operation under the cursor; its run button would ask which of the document's operations).
async function runOperation(page, name) {
  const placed = await page.evaluate((name) => {
    const editor = document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror;
    if (!editor) return false;
    for (let line = 0; line < editor.lineCount(); line += 1) {
      if (new RegExp(`^(query|mutation|subscription) ${name}\\b`).test(editor.getLine(line))) {
        editor.focus();
        editor.setCursor({ line: line + 1, ch: 2 });
        return true;
      }
    }
    return false;
  }, name);
  if (!placed) throw new Error(`no operation ${name} in the editor`);
  await page.keyboard.press('Control+Enter');
}
