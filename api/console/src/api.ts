// The console speaks only the public GraphQL API: queries and mutations over POST /graphql,
// subscriptions over graphql-ws on the same address, each with the signed-in token.
import { createClient, type Client } from 'graphql-ws';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { TypedDocumentString } from './gql/graphql';

/** A demo persona the server offers (demo mode only). */
export interface Persona {
  who: string;
  token: string;
}

/** What the server writes into the page. */
export interface Options {
  endpoint: string;
  personas: Persona[];
}

/** The options block the server put in the page. */
export function options(): Options {
  const text = document.getElementById('reach-console-options')?.textContent;
  const parsed = (text ? JSON.parse(text) : {}) as Partial<Options>;
  return { endpoint: parsed.endpoint ?? '/graphql', personas: parsed.personas ?? [] };
}

/** A request the server refused as a whole (a top-level error), with its code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Body<R> {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Runs one query or mutation as `token`. */
export async function request<R, V>(token: string, doc: TypedDocumentString<R, V>, variables?: V): Promise<R> {
  let response: Response;
  try {
    response = await fetch(options().endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json',
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: doc.toString(), variables }),
    });
  } catch {
    throw new ApiError('Reach cannot be reached. Check the connection and try again.');
  }
  let body: Body<R>;
  try {
    body = (await response.json()) as Body<R>;
  } catch {
    throw new ApiError(`Reach answered ${response.status} without a GraphQL response.`);
  }
  const error = body.errors?.[0];
  if (error) {
    throw new ApiError(error.message, error.extensions?.code);
  }
  if (!body.data) {
    throw new ApiError(`Reach answered ${response.status} without data.`);
  }
  return body.data;
}

/** A subscription client for `token`, connecting when the first subscription starts. */
function subscriptions(token: string): Client {
  const url = new URL(options().endpoint, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return createClient({
    url: url.toString(),
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: 5,
  });
}

/** While the component is mounted, `start`'s subscriptions on one socket for `token`: `start`
 * gets a fresh client each time `token` or `deps` change and returns its stops; the old client
 * is stopped and closed first. */
export function useSubscriptions(token: string, start: (client: Client) => (() => void)[], deps: unknown[]) {
  useEffect(() => {
    const client = subscriptions(token);
    const stops = start(client);
    return () => {
      stops.forEach((stop) => stop());
      void client.dispose();
    };
    // `start` is rebuilt every render; `deps` say when it means something else.
  }, [token, ...deps]);
}

/** Starts `doc` on `client`, calling `next` with each event's data; returns the stop. */
export function subscribe<R, V>(
  client: Client,
  doc: TypedDocumentString<R, V>,
  variables: V,
  next: (data: R) => void,
  /** Called once when live updates stop for good (the server refused, or the socket could not
   * be brought back after its retries). */
  stopped?: (message: string) => void,
): () => void {
  return client.subscribe<R>(
    { query: doc.toString(), variables: variables as Record<string, unknown> },
    {
      next: (value) => {
        if (value.data) next(value.data);
      },
      error: () => stopped?.('Live updates stopped: reload the page to see changes made elsewhere.'),
      complete: () => undefined,
    },
  );
}

/** The answer to `doc` with `variables` for `token`, read when the component mounts, again
 * whenever the variables change (an answer that arrives after a newer request started is
 * dropped) and on `reload`. The last answer stays shown while the next one loads. */
export function useQuery<R, V>(token: string, doc: TypedDocumentString<R, V>, variables?: V) {
  const [data, setData] = useState<R | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef(0);
  const key = JSON.stringify(variables ?? null);
  const reload = useCallback(() => {
    const mine = ++latest.current;
    request(token, doc, JSON.parse(key) as V)
      .then((answer) => {
        if (mine !== latest.current) return;
        setData(answer);
        setError(null);
      })
      .catch((e: unknown) => {
        if (mine !== latest.current) return;
        setError(e instanceof ApiError ? e.message : 'Loading failed.');
      });
  }, [token, doc, key]);
  useEffect(reload, [reload]);
  return { data, error, reload };
}

/** `value`, once it has stopped changing for `ms` (a search box's text, for example). */
export function useSettled<T>(value: T, ms = 250): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Calls `reload` each time `tick` changes after the first render (a live event's signal). */
export function useReloadOn(tick: number, reload: () => void) {
  const seen = useRef(tick);
  useEffect(() => {
    if (tick === seen.current) return;
    seen.current = tick;
    reload();
  }, [tick, reload]);
}
