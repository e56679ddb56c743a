// Support's screen: every account, searched by name, a page at a time; picking one opens what
// Support does there (Connect for Mobile on MiCloud Connect accounts, the platform and its sync runs on MX-ONE ones,
// the users import).
import { useEffect, useState } from 'preact/hooks';
import { useQuery, useSettled } from './api';
import { graphql } from './gql';
import type { AccountsQuery } from './gql/graphql';
import { UsersImport } from './importer';
import { Head, Pager, usePages } from './pages';
import { ConnectForMobile } from './portal';
import { PlatformSync } from './sync';

const Accounts = graphql(`
  query Accounts($first: Int, $after: String, $last: Int, $before: String, $search: String) {
    accounts(first: $first, after: $after, last: $last, before: $before, search: $search) {
      totalCount
      pageInfo {
        ...Page
      }
      nodes {
        id
        name
        platform
        mobility {
          state
        }
      }
    }
  }
`);

type Account = AccountsQuery['accounts']['nodes'][number];

const PLATFORMS: Record<Account['platform'], string> = {
  MICLOUD_CONNECT: 'MiCloud Connect',
  MX_ONE: 'MX-ONE',
};

const PAGE = 20;

export function SupportScreen({ token }: { token: string }) {
  const [search, setSearch] = useState('');
  const { page, restart, move, emptied } = usePages(PAGE);
  const [chosen, setChosen] = useState<Account | null>(null);
  const settled = useSettled(search.trim());
  const { data, error, reload } = useQuery(token, Accounts, { ...page, search: settled || null });
  const accounts = data?.accounts;
  useEffect(() => emptied(accounts?.nodes.length), [accounts]);

  if (chosen) {
    return (
      <>
        <p>
          <button
            type="button"
            onClick={() => {
              setChosen(null);
              reload();
            }}
          >
            ← All accounts
          </button>
        </p>
        <h2 data-testid="account-name">{chosen.name}</h2>
        {chosen.platform === 'MICLOUD_CONNECT' ? (
          <ConnectForMobile token={token} accountId={chosen.id} powers={{ support: true, accountWide: true }} />
        ) : (
          <PlatformSync token={token} accountId={chosen.id} support />
        )}
        <UsersImport token={token} accountId={chosen.id} />
      </>
    );
  }

  return (
    <section aria-labelledby="accounts-title">
      <h2 id="accounts-title">Accounts</h2>
      <label for="accounts-search">Search by name</label>
      <input
        id="accounts-search"
        type="search"
        value={search}
        onInput={(e) => {
          setSearch(e.currentTarget.value);
          restart();
        }}
      />
      {error && (
        <p role="alert" class="banner">
          {error}
        </p>
      )}
      <table>
        <Head columns={['Account', 'Platform', 'Connect for Mobile']} />
        <tbody>
          {accounts?.nodes.map((a) => (
            <tr key={a.id}>
              <td>
                <button type="button" class="link" onClick={() => setChosen(a)}>
                  {a.name}
                </button>
              </td>
              <td>{PLATFORMS[a.platform]}</td>
              <td>{a.platform === 'MICLOUD_CONNECT' ? a.mobility.state.replace('_', ' ').toLowerCase() : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {accounts && (
        <Pager info={accounts.pageInfo} move={move}>
          <span>
            {accounts.totalCount} account{accounts.totalCount === 1 ? '' : 's'}
          </span>
        </Pager>
      )}
    </section>
  );
}
