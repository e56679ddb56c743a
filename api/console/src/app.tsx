// The console's shell: who is signed in (the token stays in this tab's sessionStorage), their
// roles, and the screens their roles open.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, request } from './api';
import { graphql } from './gql';
import type { WhoAmIQuery } from './gql/graphql';
import { MyScreen } from './me';
import { ConnectForMobile } from './portal';
import { SignIn } from './signin';
import { SupportScreen } from './support';
import { PlatformSync } from './sync';

const WhoAmI = graphql(`
  query WhoAmI {
    viewer {
      kind
      name
      account {
        id
        name
        platform
      }
      user {
        id
      }
      roles {
        role
        location {
          name
        }
      }
    }
  }
`);

const KEY = 'reach-console-token';

type Viewer = WhoAmIQuery['viewer'];

/** "Decision Maker", "Phone Manager (Stockholm)". */
function roleName(role: Viewer['roles'][number]): string {
  const name = role.role === 'DECISION_MAKER' ? 'Decision Maker' : 'Phone Manager';
  return role.location ? `${name} (${role.location.name})` : name;
}

export function App() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(KEY));
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!token) return;
    let live = true;
    request(token, WhoAmI)
      .then((data) => live && setViewer(data.viewer))
      .catch((e: unknown) => {
        if (!live) return;
        sessionStorage.removeItem(KEY);
        setToken(null);
        setError(e instanceof ApiError ? `Signing in failed: ${e.message}` : 'Signing in failed.');
      });
    return () => {
      live = false;
    };
  }, [token]);

  const signIn = (value: string) => {
    setError(null);
    sessionStorage.setItem(KEY, value);
    setToken(value);
  };
  const signOut = () => {
    sessionStorage.removeItem(KEY);
    setViewer(null);
    setToken(null);
  };

  if (!token || !viewer) {
    return (
      <main class="page">
        <h1>Reach console</h1>
        {error && (
          <p role="alert" class="banner">
            {error}
          </p>
        )}
        {token ? <p aria-busy="true">Signing in…</p> : <SignIn onToken={signIn} />}
      </main>
    );
  }

  const roles = viewer.kind === 'SUPPORT' ? ['Support'] : viewer.roles.map(roleName);
  const portal = viewer.account?.platform === 'MICLOUD_CONNECT' && viewer.roles.length > 0;
  // A Decision Maker or an account-wide Phone Manager activates the add-on (M1) and asks for
  // platform sync runs.
  const canActivate = viewer.roles.some((r) => r.role === 'DECISION_MAKER' || !r.location);
  return (
    <>
      <header class="bar">
        <span class="brand">Reach</span>
        <span class="who" data-testid="who">
          {viewer.name}
          {viewer.account && <> · {viewer.account.name}</>}
          {roles.length > 0 && <> · {roles.join(', ')}</>}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main class="page">
        {portal && viewer.account && (
          <ConnectForMobile
            token={token}
            accountId={viewer.account.id}
            powers={{ support: false, accountWide: canActivate }}
          />
        )}
        {viewer.account?.platform === 'MX_ONE' && canActivate && (
          <PlatformSync token={token} accountId={viewer.account.id} support={false} />
        )}
        {viewer.user && viewer.account?.platform === 'MX_ONE' && (
          <MyScreen token={token} userId={viewer.user.id} />
        )}
        {viewer.kind === 'SUPPORT' && <SupportScreen token={token} />}
        {viewer.kind === 'USER' && !portal && viewer.account?.platform !== 'MX_ONE' && (
          <p>Nothing to manage here for you: your administrators keep your account's settings.</p>
        )}
      </main>
    </>
  );
}
