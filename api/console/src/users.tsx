// The Connect for Mobile users page (M11): the users enabled for mobility that the signed-in
// person manages (a location's Phone Manager: that location's), with the toolbar search, a filter
// per column and cursor pages; each row's mobility extension edited in place (M9) and the user
// disabled after a confirmation (M10); Add opens the wizard (M7).
import { useEffect, useState } from 'preact/hooks';
import { request, useQuery, useReloadOn, useSettled } from './api';
import { describedBy, ErrorList, type Errors, useSubmit } from './fields';
import { graphql } from './gql';
import type { MobilityUserFilter, MobilityUsersQuery } from './gql/graphql';
import { Head, Pager, usePages } from './pages';
import { AddWizard } from './wizard';

const Users = graphql(`
  query MobilityUsers(
    $id: ID!
    $first: Int
    $after: String
    $last: Int
    $before: String
    $search: String
    $filter: MobilityUserFilter
  ) {
    account(id: $id) {
      mobility {
        users(first: $first, after: $after, last: $last, before: $before, search: $search, filter: $filter) {
          totalCount
          pageInfo {
            ...Page
          }
          nodes {
            id
            name
            phoneNumber
            extension
            mobilityExtension
            eligible
            user {
              id
            }
          }
        }
      }
    }
  }
`);

const Update = graphql(`
  mutation EditMobilityExtension($input: MobilityUserUpdateInput!) {
    mobilityUserUpdate(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

const Disable = graphql(`
  mutation DisableMobility($input: MobilityUsersDisableInput!) {
    mobilityUsersDisable(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

type Row = NonNullable<MobilityUsersQuery['account']>['mobility']['users']['nodes'][number];

/** Rows per page. */
export const PAGE = 20;

const COLUMNS: [keyof MobilityUserFilter, string][] = [
  ['name', 'Name'],
  ['phoneNumber', 'Phone number'],
  ['extension', 'Extension'],
  ['mobilityExtension', 'Mobility extension'],
];

export function MobilityUsers({
  token,
  accountId,
  extensionLength,
  tick,
}: {
  token: string;
  accountId: string;
  extensionLength: number | null;
  /** Grows when the add-on changed elsewhere: the page is read again. */
  tick: number;
}) {
  const [search, setSearch] = useState('');
  const [filter, setFilter] = useState<MobilityUserFilter>({});
  const { page, restart, move, emptied } = usePages(PAGE);
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [disabling, setDisabling] = useState<string | null>(null);
  const settledSearch = useSettled(search.trim());
  const settledFilter = useSettled(filter);
  const filled = Object.fromEntries(Object.entries(settledFilter).filter(([, v]) => v));
  const { data, error, reload } = useQuery(token, Users, {
    id: accountId,
    ...page,
    search: settledSearch || null,
    filter: Object.keys(filled).length > 0 ? filled : null,
  });
  const users = data?.account?.mobility.users;
  useReloadOn(tick, reload);
  useEffect(() => emptied(users?.nodes.length), [users]);

  const done = () => {
    setEditing(null);
    setDisabling(null);
    reload();
  };

  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <div class="toolbar">
        <label class="inline" for="users-search">
          Search
        </label>
        <input
          id="users-search"
          type="search"
          placeholder="Name, number, extension or mobility extension"
          value={search}
          onInput={(e) => {
            setSearch(e.currentTarget.value);
            restart();
          }}
        />
        <button type="button" onClick={() => setAdding(true)} disabled={adding}>
          Add users
        </button>
      </div>
      {adding && (
        <AddWizard
          token={token}
          accountId={accountId}
          extensionLength={extensionLength}
          onClose={(added) => {
            setAdding(false);
            if (added) reload();
          }}
        />
      )}
      {error && (
        <p role="alert" class="banner">
          {error}
        </p>
      )}
      <table aria-describedby="users-count">
        <Head columns={[...COLUMNS.map(([, label]) => label), 'Actions']}>
          <tr>
            {COLUMNS.map(([column, label]) => (
              <td key={column}>
                <input
                  aria-label={`Filter by ${label.toLowerCase()}`}
                  placeholder="Filter"
                  value={filter[column] ?? ''}
                  onInput={(e) => {
                    setFilter({ ...filter, [column]: e.currentTarget.value });
                    restart();
                  }}
                />
              </td>
            ))}
            <td />
          </tr>
        </Head>
        <tbody>
          {users?.nodes.map((u) => (
            <UserRow
              key={u.id}
              row={u}
              token={token}
              accountId={accountId}
              editing={editing === u.id}
              disabling={disabling === u.id}
              onEdit={() => {
                setDisabling(null);
                setEditing(u.id);
              }}
              onDisable={() => {
                setEditing(null);
                setDisabling(u.id);
              }}
              onCancel={() => {
                setEditing(null);
                setDisabling(null);
              }}
              onDone={done}
            />
          ))}
        </tbody>
      </table>
      {!users && !error && <p aria-busy="true">Loading…</p>}
      {users && (
        <Pager info={users.pageInfo} move={move}>
          <span id="users-count" data-testid="users-count">
            {users.totalCount === 0
              ? 'No users.'
              : `${users.totalCount} user${users.totalCount === 1 ? '' : 's'}`}
          </span>
        </Pager>
      )}
    </section>
  );
}

function UserRow({
  row,
  token,
  accountId,
  editing,
  disabling,
  onEdit,
  onDisable,
  onCancel,
  onDone,
}: {
  row: Row;
  token: string;
  accountId: string;
  editing: boolean;
  disabling: boolean;
  onEdit: () => void;
  onDisable: () => void;
  onCancel: () => void;
  onDone: () => void;
}) {
  const [value, setValue] = useState(row.mobilityExtension);
  const { errors, setErrors, busy, submit } = useSubmit('The change failed.');
  // Each time Edit or Disable opens: the extension as it is now, and no old refusal. Set in the
  // click itself: an effect runs after the paint, and would overwrite what is typed first.
  const open = (then: () => void) => () => {
    setValue(row.mobilityExtension);
    setErrors([]);
    then();
  };
  const run = async (action: () => Promise<Errors>) => {
    if ((await submit(action)).length === 0) onDone();
  };
  const save = () =>
    run(async () => {
      const data = await request(token, Update, {
        input: { userId: row.user.id, mobilityExtension: value.trim() },
      });
      return data.mobilityUserUpdate.userErrors;
    });
  const disable = () =>
    run(async () => {
      const data = await request(token, Disable, { input: { accountId, userIds: [row.user.id] } });
      return data.mobilityUsersDisable.userErrors;
    });
  const id = `mobility-extension-${row.id}`;

  return (
    <tr data-testid="mobility-user">
      <td>
        {row.name}
        {!row.eligible && (
          <span class="tag" title="The phone profile no longer qualifies; the user stays enabled (M12)">
            {' '}
            profile no longer eligible
          </span>
        )}
      </td>
      <td>{row.phoneNumber ?? ''}</td>
      <td>{row.extension}</td>
      <td>
        {editing ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <label class="sr-only" for={id}>
              Mobility extension of {row.name}
            </label>
            <input
              id={id}
              inputMode="numeric"
              value={value}
              {...describedBy(id, errors)}
              onInput={(e) => setValue(e.currentTarget.value)}
            />
            <ErrorList errors={errors} id={id} />
            <button type="submit" disabled={busy}>
              Save
            </button>{' '}
            <button
              type="button"
              onClick={() => {
                setValue(row.mobilityExtension);
                setErrors([]);
                onCancel();
              }}
            >
              Cancel
            </button>
          </form>
        ) : (
          row.mobilityExtension
        )}
      </td>
      <td>
        {disabling ? (
          <div role="alertdialog" aria-label={`Disable ${row.name}`}>
            <p>
              Take {row.name} off Connect for Mobile? Mobility extension {row.mobilityExtension} becomes free.
            </p>
            <ErrorList errors={errors} />
            <button type="button" disabled={busy} onClick={() => void disable()}>
              Disable {row.name}
            </button>{' '}
            <button type="button" onClick={onCancel}>
              Keep
            </button>
          </div>
        ) : (
          !editing && (
            <>
              <button type="button" onClick={open(onEdit)} aria-label={`Edit the mobility extension of ${row.name}`}>
                Edit
              </button>{' '}
              <button type="button" onClick={open(onDisable)} aria-label={`Disable ${row.name}`}>
                Disable
              </button>
            </>
          )
        )}
      </td>
    </tr>
  );
}
