// An MX-ONE account's communication platform (Support, Decision Makers, account-wide Phone
// Managers): where it is and, for Support, the form that sets it with the token to reach it (the
// token is never shown back); and the sync runs, newest first, following `platformSyncRunUpdated` so a run's state and counts move
// on the page as it goes. "Sync now" asks for a run (or joins the one under way).
import { useEffect, useState } from 'preact/hooks';
import { ApiError, request, subscribe, useQuery, useSubscriptions } from './api';
import { type Errors, Field, errorsOf, FormEnd, useSubmit } from './fields';
import { graphql } from './gql';
import { Head } from './pages';
import type { SyncRunFieldsFragment, SyncRunState } from './gql/graphql';

graphql(`
  fragment SyncRunFields on PlatformSyncRun {
    id
    state
    requestedAt
    finishedAt
    requestedBy {
      kind
      name
    }
    created
    updated
    removed
    kept
    exported
    errors
    version
  }
`);

const Platform = graphql(`
  query Platform($id: ID!) {
    account(id: $id) {
      platformConnection {
        baseUrl
        platformAccount
        nextRunAt
        failuresInARow
        updatedAt
      }
      syncRuns(first: 10) {
        nodes {
          ...SyncRunFields
        }
      }
    }
  }
`);

const Connect = graphql(`
  mutation SetPlatformConnection($input: PlatformConnectionSetInput!) {
    platformConnectionSet(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

const SyncNow = graphql(`
  mutation SyncNow($input: PlatformSyncRunInput!) {
    platformSyncRun(input: $input) {
      syncRun {
        ...SyncRunFields
      }
      userErrors {
        ...Refusal
      }
    }
  }
`);

const RunUpdated = graphql(`
  subscription SyncRunUpdated($accountId: ID!) {
    platformSyncRunUpdated(accountId: $accountId) {
      ...SyncRunFields
    }
  }
`);

type Run = SyncRunFieldsFragment;

const STATES: Record<SyncRunState, string> = {
  PENDING: 'Waiting',
  RUNNING: 'Running',
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
};

/** `runs` with `run` put in its place (or first, when new), unless what is there is newer. */
export function merged(runs: Run[], run: Run): Run[] {
  const held = runs.find((r) => r.id === run.id);
  if (!held) return [run, ...runs];
  return held.version > run.version ? runs : runs.map((r) => (r.id === run.id ? run : r));
}

/** Runs shown: the last ten, as the list is read. */
const SHOWN = 10;

/** A list read again, merged with what the subscription brought meanwhile: each run as the
 * newest of the two has it, newest asked-for first, the last ten. */
export function reloaded(held: Run[], read: Run[]): Run[] {
  const all = read.reduce(merged, held);
  return [...all].sort((a, b) => b.requestedAt.localeCompare(a.requestedAt)).slice(0, SHOWN);
}

export function PlatformSync({ token, accountId, support }: { token: string; accountId: string; support: boolean }) {
  const { data, error, reload } = useQuery(token, Platform, { id: accountId });
  const [runs, setRuns] = useState<Run[]>([]);
  const [editing, setEditing] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  const account = data?.account;
  const connection = account?.platformConnection;

  useEffect(() => {
    const read = account?.syncRuns?.nodes;
    if (read) setRuns((held) => reloaded(held, read));
  }, [account]);
  useSubscriptions(
    token,
    (client) => [
      subscribe(
        client,
        RunUpdated,
        { accountId },
        (d) => {
          const run = d.platformSyncRunUpdated;
          setRuns((now) => merged(now, run));
          // A finished run moves the connection's next run and failure count: read them again.
          if (run.state === 'SUCCEEDED' || run.state === 'FAILED') reload();
        },
        setRefused,
      ),
    ],
    [accountId, reload],
  );

  if (!account) {
    return error ? (
      <p role="alert" class="banner">
        {error}
      </p>
    ) : (
      <p aria-busy="true">Loading…</p>
    );
  }
  // Null for a caller who may not read it: nothing to show them.
  if (!account.syncRuns) return null;

  return (
    <section aria-labelledby="platform-title">
      <h2 id="platform-title">Communication platform</h2>
      {!connection && !support && <p>No platform connection yet: Support sets it.</p>}
      {connection && !editing && (
        <p data-testid="platform-connection">
          {connection.platformAccount} at {connection.baseUrl}
          {connection.failuresInARow > 0 && <> · {connection.failuresInARow} failed runs in a row</>}
          {connection.nextRunAt && <> · next run {new Date(connection.nextRunAt).toLocaleString()}</>}{' '}
          {support && (
            <button type="button" onClick={() => setEditing(true)}>
              Change
            </button>
          )}
        </p>
      )}
      {support && (!connection || editing) && (
        <ConnectionForm
          initial={connection ?? null}
          onCancel={connection ? () => setEditing(false) : undefined}
          onSave={async (input) => {
            const answer = await request(token, Connect, { input: { accountId, ...input } });
            const errors = answer.platformConnectionSet.userErrors;
            if (errors.length === 0) {
              setEditing(false);
              reload();
            }
            return errors;
          }}
        />
      )}
      {refused && (
        <p role="alert" class="banner">
          {refused}
        </p>
      )}
      {connection && (
        <button
          type="button"
          onClick={async () => {
            try {
              const answer = await request(token, SyncNow, { input: { accountId } });
              const run = answer.platformSyncRun.syncRun;
              setRefused(answer.platformSyncRun.userErrors[0]?.message ?? null);
              if (run) setRuns((now) => merged(now, run));
            } catch (e) {
              setRefused(e instanceof ApiError ? e.message : 'The sync could not be started.');
            }
          }}
        >
          Sync now
        </button>
      )}
      <table aria-label="Sync runs">
        <Head columns={['Asked for', 'State', 'Created', 'Updated', 'Removed', 'Kept', 'Sent']} />
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-testid="sync-run" data-state={r.state}>
              <td>
                {new Date(r.requestedAt).toLocaleString()} ·{' '}
                {r.requestedBy.kind === 'SUPPORT' ? `Support (${r.requestedBy.name})` : r.requestedBy.name}
              </td>
              <td aria-live="polite">
                {STATES[r.state]}
                {r.errors.length > 0 && (
                  <ul class="meta">
                    {r.errors.map((e) => (
                      <li key={e}>{e}</li>
                    ))}
                  </ul>
                )}
              </td>
              <td>{r.created}</td>
              <td>{r.updated}</td>
              <td>{r.removed}</td>
              <td>{r.kept}</td>
              <td>{r.exported}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.length === 0 && <p>No sync run yet.</p>}
    </section>
  );
}

interface Connection {
  baseUrl: string;
  platformAccount: string;
  token: string;
}

function ConnectionForm({
  initial,
  onSave,
  onCancel,
}: {
  initial: { baseUrl: string; platformAccount: string } | null;
  onSave: (input: Connection) => Promise<Errors>;
  onCancel?: () => void;
}) {
  const [value, setValue] = useState<Connection>({
    baseUrl: initial?.baseUrl ?? '',
    platformAccount: initial?.platformAccount ?? '',
    token: '',
  });
  const { errors, busy, submit } = useSubmit('Saving failed.');
  const { at, other } = errorsOf(errors, ['baseUrl', 'platformAccount', 'token']);
  const input = (field: keyof Connection, label: string, type = 'text') => (
    <Field id={`platform-${field}`} label={label} errors={at(field)}>
      <input
        id={`platform-${field}`}
        type={type}
        autoComplete="off"
        value={value[field]}
        onInput={(e) => setValue({ ...value, [field]: e.currentTarget.value })}
      />
    </Field>
  );
  return (
    <form
      class="card"
      aria-labelledby="platform-form-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(() => onSave(value));
      }}
    >
      <h3 id="platform-form-title">{initial ? 'Change the connection' : 'Connect the platform'}</h3>
      {input('baseUrl', 'Platform address (https://…)', 'url')}
      {input('platformAccount', 'Account on the platform')}
      {input('token', 'Token', 'password')}
      <FormEnd errors={other} submit="Save connection" busy={busy} onCancel={onCancel} />
    </form>
  );
}
