// A list's table head, and its cursor pages: where the page starts (the first page, after a
// cursor or before one), and the pager under the list.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { graphql } from './gql';
import type { PageInfo } from './gql/graphql';

graphql(`
  fragment Page on PageInfo {
    hasNextPage
    hasPreviousPage
    startCursor
    endCursor
  }
`);

type Position = { after: string } | { before: string } | null;

/** `page`: the list's `first`/`after` or `last`/`before` for `size` rows; `restart` goes back to
 * the first page (a new search or filter); `move` is the pager's; `emptied(rows)` goes back to
 * the first page when a page past it came back empty (its rows were removed meanwhile), where
 * the pager would offer no way out. */
export function usePages(size: number) {
  const [position, move] = useState<Position>(null);
  const page =
    position && 'before' in position ? { last: size, before: position.before } : { first: size, after: position?.after };
  const emptied = (rows: number | undefined) => {
    if (rows === 0 && position !== null) move(null);
  };
  return { page, restart: () => move(null), move, emptied };
}

/** The list's count (`children`) and Previous / Next page, offered only where there is one. */
export function Pager({
  info,
  move,
  children,
}: {
  info: Pick<PageInfo, 'hasNextPage' | 'hasPreviousPage' | 'startCursor' | 'endCursor'>;
  move: (position: Position) => void;
  children: ComponentChildren;
}) {
  return (
    <div class="pager">
      {children}
      <button
        type="button"
        disabled={!info.hasPreviousPage || !info.startCursor}
        onClick={() => move({ before: info.startCursor ?? '' })}
      >
        Previous page
      </button>
      <button
        type="button"
        disabled={!info.hasNextPage || !info.endCursor}
        onClick={() => move({ after: info.endCursor ?? '' })}
      >
        Next page
      </button>
    </div>
  );
}

/** A table's head: a column header per name (`false` leaves a column out), then, with
 * `actions`, an Actions column named for screen readers only; `children` are further rows (a
 * row of filters). */
export function Head({
  columns,
  actions = false,
  children,
}: {
  columns: (string | false)[];
  actions?: boolean;
  children?: ComponentChildren;
}) {
  return (
    <thead>
      <tr>
        {columns.filter((c): c is string => c !== false).map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
        {actions && (
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        )}
      </tr>
      {children}
    </thead>
  );
}
