// The settings-change notifications of an account (M6, E2): what changed, who changed it, and
// where the mail to each recipient stands; Support sends a failed or retrying one again.
// Readable by Support, Decision Makers and account-wide Phone Managers (null for others: then
// the section is not shown).
import { useState } from 'preact/hooks';
import { ApiError, request, useQuery, useReloadOn } from './api';
import { graphql } from './gql';
import { Head } from './pages';
import type { DeliveryStatus, NotificationsQuery } from './gql/graphql';

const Notifications = graphql(`
  query Notifications($id: ID!) {
    account(id: $id) {
      mobility {
        notifications(first: 10) {
          nodes {
            id
            createdAt
            createdBy {
              kind
              name
            }
            changes {
              field
              oldValue
              newValue
            }
            recipients {
              id
              email
              status
              attempts
              lastError
              nextAttemptAt
              user {
                name
              }
            }
          }
        }
      }
    }
  }
`);

const Retry = graphql(`
  mutation RetryNotification($input: NotificationRetryInput!) {
    notificationRetry(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

type Notification = NonNullable<
  NonNullable<NotificationsQuery['account']>['mobility']['notifications']
>['nodes'][number];
type Recipient = Notification['recipients'][number];

export const STATUSES: Record<DeliveryStatus, string> = {
  PENDING: 'Queued',
  SENT: 'Sent',
  RETRYING: 'Retrying',
  FAILED: 'Failed',
  SKIPPED: 'Not sent: no email address',
};

const FIELDS: Record<string, string> = {
  mobilityRouter: 'Mobility Router',
  groupName: 'Group name',
  voicemailAccessNumber: 'Voicemail access number',
  accessNumber: 'Access number',
  reverseDialNumber: 'Reverse dial number',
  handoverNumber: 'Handover number',
};

/** Whether Support may send this recipient's mail again now. */
export function retryable(r: Pick<Recipient, 'status'>): boolean {
  return r.status === 'FAILED' || r.status === 'RETRYING';
}

/** "Handover number: 6465697333 → 6465691111". */
export function changeLine(c: Notification['changes'][number]): string {
  return `${FIELDS[c.field] ?? c.field}: ${c.oldValue ?? '(none)'} → ${c.newValue ?? '(none)'}`;
}

export function NotificationList({
  token,
  accountId,
  support,
  tick,
}: {
  token: string;
  accountId: string;
  support: boolean;
  /** Grows when the add-on changed: the list is read again. */
  tick: number;
}) {
  const { data, error, reload } = useQuery(token, Notifications, { id: accountId });
  const [refused, setRefused] = useState<string | null>(null);
  useReloadOn(tick, reload);
  const list = data?.account?.mobility.notifications;
  if (!list) {
    return error ? (
      <p role="alert" class="banner">
        {error}
      </p>
    ) : null;
  }

  const retry = async (id: string) => {
    try {
      const answer = await request(token, Retry, { input: { id } });
      setRefused(answer.notificationRetry.userErrors[0]?.message ?? null);
    } catch (e) {
      setRefused(e instanceof ApiError ? e.message : 'Sending again failed.');
    }
    reload();
  };

  return (
    <section aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notifications</h2>
      {refused && (
        <p role="alert" class="banner">
          {refused}
        </p>
      )}
      {list.nodes.length === 0 && <p>No settings change has been mailed yet.</p>}
      {list.nodes.map((n) => (
        <article key={n.id} class="notification" data-testid="notification">
          <h3>
            {new Date(n.createdAt).toLocaleString()} ·{' '}
            {n.createdBy.kind === 'SUPPORT' ? `Support (${n.createdBy.name})` : n.createdBy.name}
          </h3>
          <ul>
            {n.changes.map((c) => (
              <li key={c.field}>{changeLine(c)}</li>
            ))}
          </ul>
          {n.recipients.length === 0 && <p>No user was enabled then: nobody to mail.</p>}
          <table hidden={n.recipients.length === 0}>
            <Head columns={['Recipient', 'Delivery', 'Tries']} actions={support} />
            <tbody>
              {n.recipients.map((r) => (
                <tr key={r.id} data-testid="recipient">
                  <td>
                    {r.user?.name ?? 'a former user'}
                    {r.email && <> · {r.email}</>}
                  </td>
                  <td>
                    {STATUSES[r.status]}
                    {r.lastError && <span class="meta"> ({r.lastError})</span>}
                    {r.nextAttemptAt && r.status === 'RETRYING' && (
                      <span class="meta"> next try {new Date(r.nextAttemptAt).toLocaleTimeString()}</span>
                    )}
                  </td>
                  <td>{r.attempts}</td>
                  {support && (
                    <td>
                      {retryable(r) && (
                        <button type="button" onClick={() => void retry(r.id)}>
                          Send again<span class="sr-only"> to {r.user?.name ?? r.email}</span>
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </article>
      ))}
    </section>
  );
}
