// The Add wizard (M7): select users (eligible, not yet enabled, searchable by name, number or
// extension), give each a mobility extension, see the summary the server checks with `dryRun`
// (every row's error beside its row) and finish with a confirmation. The batch is all or none.
import { useState } from 'preact/hooks';
import { ApiError, request, useQuery, useSettled } from './api';
import { describedBy, ErrorList, type Errors } from './fields';
import { graphql } from './gql';
import { Head } from './pages';

const Eligible = graphql(`
  query EligibleUsers($id: ID!, $search: String) {
    account(id: $id) {
      mobility {
        eligibleUsers(first: 50, search: $search) {
          totalCount
          nodes {
            id
            name
            phoneNumber
            extension
          }
        }
      }
    }
  }
`);

const Enable = graphql(`
  mutation EnableMobility($input: MobilityUsersEnableInput!) {
    mobilityUsersEnable(input: $input) {
      dryRun
      mobilityUsers {
        id
      }
      userErrors {
        ...Refusal
      }
    }
  }
`);

interface Pick {
  id: string;
  name: string;
  phoneNumber?: string | null;
  extension: string;
  mobilityExtension: string;
}

type Step = 'select' | 'extensions' | 'summary' | 'confirm';

const TITLES: Record<Step, string> = {
  select: 'Step 1 of 3: select users',
  extensions: 'Step 2 of 3: mobility extensions',
  summary: 'Step 3 of 3: summary',
  confirm: 'Step 3 of 3: summary',
};

/** The errors of a batch by row: `field` is `["users", "<index>", …]`; the rest under `-1`. */
export function byRow(errors: Errors): Map<number, Errors> {
  const rows = new Map<number, Errors>();
  for (const e of errors) {
    const index = e.field?.[0] === 'users' && e.field[1] !== undefined ? Number(e.field[1]) : -1;
    rows.set(index, [...(rows.get(index) ?? []), e]);
  }
  return rows;
}

export function AddWizard({
  token,
  accountId,
  extensionLength,
  onClose,
}: {
  token: string;
  accountId: string;
  extensionLength: number | null;
  onClose: (added: boolean) => void;
}) {
  const [step, setStep] = useState<Step>('select');
  const [picked, setPicked] = useState<Pick[]>([]);
  const [errors, setErrors] = useState<Map<number, Errors>>(new Map());
  const [busy, setBusy] = useState(false);

  const send = async (dryRun: boolean) => {
    const users = picked.map((p) => ({ userId: p.id, mobilityExtension: p.mobilityExtension.trim() }));
    const data = await request(token, Enable, { input: { accountId, users, dryRun } });
    return data.mobilityUsersEnable.userErrors;
  };
  const check = async (dryRun: boolean) => {
    setBusy(true);
    try {
      const found = await send(dryRun);
      setErrors(byRow(found));
      if (found.length === 0) {
        if (dryRun) setStep('summary');
        else onClose(true);
      } else {
        setStep('summary');
      }
    } catch (e) {
      setErrors(new Map([[-1, [{ field: null, message: e instanceof ApiError ? e.message : 'Checking failed.' }]]]));
    } finally {
      setBusy(false);
    }
  };
  const clean = errors.size === 0;

  return (
    <div class="card" role="dialog" aria-labelledby="wizard-title">
      <h3 id="wizard-title">Add users to Connect for Mobile</h3>
      <p class="step">{TITLES[step]}</p>
      {step === 'select' && (
        <Select
          token={token}
          accountId={accountId}
          picked={picked}
          onChange={(next) => {
            // The summary's errors are by row: another selection makes them someone else's.
            setPicked(next);
            setErrors(new Map());
          }}
        />
      )}
      {step !== 'select' && (
        <table>
          <Head columns={['Name', 'Extension', 'Mobility extension', step !== 'extensions' && 'Check']} />
          <tbody>
            {picked.map((p, i) => {
              const rowErrors = errors.get(i) ?? [];
              const id = `wizard-extension-${i}`;
              return (
                <tr key={p.id} data-testid="wizard-row">
                  <td>{p.name}</td>
                  <td>{p.extension}</td>
                  <td>
                    {step === 'extensions' ? (
                      <>
                        <label class="sr-only" for={id}>
                          Mobility extension of {p.name}
                        </label>
                        <input
                          id={id}
                          inputMode="numeric"
                          placeholder={extensionLength ? `${extensionLength} digits` : '3–15 digits'}
                          value={p.mobilityExtension}
                          {...describedBy(id, rowErrors)}
                          onInput={(e) => {
                            const value = e.currentTarget.value;
                            setPicked(picked.map((q) => (q.id === p.id ? { ...q, mobilityExtension: value } : q)));
                            // The row's old refusal no longer applies to a new value.
                            const rest = new Map(errors);
                            rest.delete(i);
                            setErrors(rest);
                          }}
                        />
                        <ErrorList errors={rowErrors} id={id} />
                      </>
                    ) : (
                      p.mobilityExtension
                    )}
                  </td>
                  {step !== 'extensions' && (
                    <td>{rowErrors.length === 0 ? 'OK' : <ErrorList errors={rowErrors} id={id} />}</td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <ErrorList errors={errors.get(-1) ?? []} />
      {step === 'confirm' && (
        <p role="alert">
          Enable {picked.length} user{picked.length === 1 ? '' : 's'} for Connect for Mobile with these mobility
          extensions?
        </p>
      )}
      <div class="actions">
        {step === 'select' && (
          <button type="button" disabled={picked.length === 0} onClick={() => setStep('extensions')}>
            Next
          </button>
        )}
        {step === 'extensions' && (
          <>
            <button type="button" onClick={() => setStep('select')}>
              Back
            </button>{' '}
            <button
              type="button"
              disabled={busy || picked.some((p) => !p.mobilityExtension.trim())}
              onClick={() => void check(true)}
            >
              Next
            </button>
          </>
        )}
        {step === 'summary' && (
          <>
            <button type="button" onClick={() => setStep('extensions')}>
              Back
            </button>{' '}
            <button type="button" disabled={!clean} onClick={() => setStep('confirm')}>
              Finish
            </button>
          </>
        )}
        {step === 'confirm' && (
          <>
            <button type="button" onClick={() => setStep('summary')}>
              Back
            </button>{' '}
            <button type="button" disabled={busy} onClick={() => void check(false)}>
              Enable {picked.length} user{picked.length === 1 ? '' : 's'}
            </button>
          </>
        )}{' '}
        <button type="button" onClick={() => onClose(false)}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** Step 1: eligible users not yet enabled, searched; the choice survives a new search. */
function Select({
  token,
  accountId,
  picked,
  onChange,
}: {
  token: string;
  accountId: string;
  picked: Pick[];
  onChange: (picked: Pick[]) => void;
}) {
  const [search, setSearch] = useState('');
  const settled = useSettled(search.trim());
  const { data, error } = useQuery(token, Eligible, { id: accountId, search: settled || null });
  const list = data?.account?.mobility.eligibleUsers;
  const chosen = new Set(picked.map((p) => p.id));
  return (
    <>
      <label for="wizard-search">Search by name, number or extension</label>
      <input id="wizard-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
      {error && (
        <p role="alert" class="banner">
          {error}
        </p>
      )}
      {list && list.totalCount === 0 && <p>No eligible users to add{settled ? ' match the search' : ''}.</p>}
      <ul class="choices">
        {list?.nodes.map((u) => (
          <li key={u.id}>
            <label>
              <input
                type="checkbox"
                checked={chosen.has(u.id)}
                onChange={(e) =>
                  onChange(
                    e.currentTarget.checked
                      ? [...picked, { ...u, mobilityExtension: '' }]
                      : picked.filter((p) => p.id !== u.id),
                  )
                }
              />{' '}
              {u.name} · {u.extension}
              {u.phoneNumber && <> · {u.phoneNumber}</>}
            </label>
          </li>
        ))}
      </ul>
      <p>
        {picked.length} selected{list && list.totalCount > list.nodes.length && ` (first ${list.nodes.length} shown)`}
      </p>
    </>
  );
}
