// A console session in headless Chromium: a browser whose pages sign in to /console with a demo
// persona, recording any request that leaves the server and any error a page logs.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { launch } from './launch.mjs';

const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export async function session(base) {
  const browser = await launch();
  const external = [];
  const errors = [];

  /** A new window signed in as the persona whose name starts with `name`, once `ready` shows;
   * `viewport` as Playwright takes it (default 1000 × 800). */
  async function signedIn(name, ready = 'table tbody tr', viewport = { width: 1000, height: 800 }) {
    const context = await browser.newContext({ viewport });
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

  /** The demo persona's token whose name starts with `name`, from the page's options block. */
  async function token(page, name) {
    const options = await page.$eval('#reach-console-options', (e) => JSON.parse(e.textContent));
    const persona = options.personas.find((p) => p.who.startsWith(name));
    if (!persona) throw new Error(`no token for ${name}`);
    return persona.token;
  }

  /** Runs a GraphQL request from outside the browser (another client), as `bearer`. */
  async function graphql(bearer, query, variables) {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ query, variables }),
    });
    return response.json();
  }

  /** What axe-core finds serious or critical on the page as it is now (WCAG 2.1 A and AA
   * rules): `[{ id, impact, targets }]`, empty when nothing. The rules are evaluated through
   * the DevTools protocol, so the page's Content-Security-Policy stays as served. */
  async function audit(page) {
    await page.evaluate(axeSource);
    return page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
    });
  }

  return { browser, external, errors, signedIn, token, graphql, audit };
}
