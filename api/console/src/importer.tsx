// Support's users import: a CSV export with a header row, read in the browser and sent as one
// `usersImport` (all or none are created). Every bad row is listed with the line it is on in the
// file: the file's own problems (cells, profile or location names) before anything is sent, the
// server's refusals (its row index mapped back to the line) after.
import { useState } from 'preact/hooks';
import { ApiError, request } from './api';
import { importRows, type LineError } from './csv';
import { graphql } from './gql';
import { Head } from './pages';
import type { ImportLocationsQuery } from './gql/graphql';

const Locations = graphql(`
  query ImportLocations($id: ID!, $after: String) {
    account(id: $id) {
      locations(first: 100, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          name
        }
      }
    }
  }
`);

const Import = graphql(`
  mutation ImportUsers($input: UsersImportInput!) {
    usersImport(input: $input) {
      users {
        id
      }
      userErrors {
        ...Refusal
      }
    }
  }
`);

const LABELS: Record<string, string> = {
  name: 'name',
  email: 'email',
  phoneNumber: 'phone number',
  extension: 'extension',
  phoneProfile: 'phone profile',
  locationId: 'location',
  location: 'location',
};

/** Every location of the account, a page of 100 at a time, read as the import runs (so a
 * location added meanwhile is known, and none is missed past the first page). */
async function allLocations(token: string, id: string) {
  const all: { id: string; name: string }[] = [];
  let after: string | null = null;
  for (;;) {
    const data: ImportLocationsQuery = await request(token, Locations, { id, after });
    const page = data.account?.locations;
    if (!page) return all;
    all.push(...page.nodes);
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return all;
    after = page.pageInfo.endCursor;
  }
}

export function UsersImport({ token, accountId }: { token: string; accountId: string }) {
  const [text, setText] = useState('');
  const [errors, setErrors] = useState<LineError[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const send = async () => {
    setDone(null);
    setBusy(true);
    try {
      const { rows, errors: found } = importRows(text, await allLocations(token, accountId));
      if (found.length > 0) {
        setErrors(found);
        return;
      }
      const users = rows.map(({ line: _, ...row }) => row);
      const answer = await request(token, Import, { input: { accountId, users } });
      const refused = answer.usersImport.userErrors.map((e): LineError => {
        const [, index, column] = e.field ?? [];
        const row = index === undefined ? undefined : rows[Number(index)];
        return { line: row?.line ?? 0, column, message: e.message };
      });
      setErrors(refused);
      if (refused.length === 0) {
        const n = answer.usersImport.users.length;
        setDone(`Created ${n} user${n === 1 ? '' : 's'}.`);
        setText('');
      }
    } catch (e) {
      setErrors([{ line: 0, message: e instanceof ApiError ? e.message : 'The import failed.' }]);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="import-title">
      <h2 id="import-title">Import users</h2>
      <p class="meta">
        A CSV file with a header row: <code>name</code>, <code>email</code>, <code>phoneNumber</code>,{' '}
        <code>extension</code>, <code>phoneProfile</code> (basic, essentials, premier, elite or other) and{' '}
        <code>location</code> (a location's name). All rows are created, or none.
      </p>
      <label for="import-file">CSV file</label>
      <input
        id="import-file"
        type="file"
        accept=".csv,text/csv"
        onChange={async (e) => {
          const file = e.currentTarget.files?.[0];
          if (file) setText(await file.text());
        }}
      />
      <label for="import-text">Or paste it</label>
      <textarea id="import-text" rows={6} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      {errors.length > 0 && (
        <table aria-label="Rows refused" data-testid="import-errors">
          <Head columns={['Line', 'Column', 'Problem']} />
          <tbody>
            {errors.map((e, i) => (
              <tr key={i} class="error">
                <td>{e.line || '—'}</td>
                <td>{e.column ? (LABELS[e.column] ?? e.column) : ''}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {errors.length > 0 && <p role="alert">Nothing was imported: fix the lines above and import again.</p>}
      {done && <p role="status">{done}</p>}
      <button type="button" disabled={busy || text.trim() === ''} onClick={() => void send()}>
        Import
      </button>
    </section>
  );
}
