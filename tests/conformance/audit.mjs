// Runs the GraphQL foundation's GraphQL-over-HTTP audits (graphql-http's `serverAudits`) against
// a running Reach: `node audit.mjs <url> <token>`. Every request carries the token (Reach
// answers 401 without one). Prints one line per audit that did not pass, then a JSON summary.
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs <url> <token>');
  process.exit(2);
}
const fetchFn = (input, init = {}) =>
  fetch(input, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${token}` } });

const summary = { ok: 0, notOk: [] };
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    summary.ok += 1;
  } else {
    summary.notOk.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason });
    console.log(`${result.status} ${audit.id} ${audit.name}: ${result.reason}`);
  }
}
console.log(JSON.stringify(summary));
