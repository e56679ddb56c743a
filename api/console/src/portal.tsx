// Connect for Mobile in the Account Portal: the add-on's state, and its Activate dialog as the
// manual has it (the voicemail access number suggested, an access number, the reverse-dial and
// handover numbers filled only where the account has none yet, the email checkbox, then the
// purchase confirmed). Activation leaves the add-on waiting for Support, who completes it here;
// then the Settings dialog and the users page.
import { useState } from 'preact/hooks';
import { request, subscribe, useQuery, useSubscriptions } from './api';
import { graphql } from './gql';
import { type Errors, Field, errorsOf, FormEnd, useSubmit } from './fields';
import type { MobilityAddonQuery } from './gql/graphql';
import { NotificationList } from './notifications';
import { SettingsDialog } from './settings';
import { MobilityUsers } from './users';

const Addon = graphql(`
  query MobilityAddon($id: ID!) {
    account(id: $id) {
      id
      name
      extensionLength
      accessNumbers(first: 50) {
        nodes {
          id
          number
          label
        }
      }
      mobility {
        state
        defaults {
          voicemailAccessNumber
          reverseDialNumber
          handoverNumber
        }
        settings {
          ...Settings
        }
      }
    }
  }
`);

const Activate = graphql(`
  mutation ActivateMobility($input: MobilityActivateInput!) {
    mobilityActivate(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

const Complete = graphql(`
  mutation CompleteMobility($input: MobilityActivationCompleteInput!) {
    mobilityActivationComplete(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

const Changed = graphql(`
  subscription MobilityChanged($accountId: ID!) {
    mobilityChanged(accountId: $accountId) {
      change
    }
  }
`);

export type Account = NonNullable<MobilityAddonQuery['account']>;

const STATES: Record<Account['mobility']['state'], string> = {
  NOT_ACTIVATED: 'Not activated',
  PENDING_SUPPORT: 'Activated: Support is completing the set-up. Contact Support to finish it.',
  ACTIVE: 'Active',
};

/** What the signed-in person may do with the add-on. */
export interface Powers {
  /** Support. */
  support: boolean;
  /** Support, a Decision Maker or an account-wide Phone Manager (M1, M5). */
  accountWide: boolean;
}

/** The add-on of account `accountId`: its state, Activate, Support's completion, the
 * Settings dialog and, once active, the users page. */
export function ConnectForMobile({ token, accountId, powers }: { token: string; accountId: string; powers: Powers }) {
  const { data, error, reload: load } = useQuery(token, Addon, { id: accountId });
  const account = data?.account ?? null;
  const [open, setOpen] = useState<'activate' | 'settings' | null>(null);
  // Live: a change to the add-on, its settings or its users, made anywhere, reloads the page's
  // parts (`tick` tells the users page and the notifications).
  const [tick, setTick] = useState(0);
  const [stopped, setStopped] = useState<string | null>(null);
  useSubscriptions(
    token,
    (client) => [
      subscribe(
        client,
        Changed,
        { accountId },
        () => {
          load();
          setTick((t) => t + 1);
        },
        setStopped,
      ),
    ],
    [accountId, load],
  );

  if (error) {
    return (
      <p role="alert" class="banner">
        {error}
      </p>
    );
  }
  if (!data) return <p aria-busy="true">Loading…</p>;
  if (!account) return <p class="banner">This account is not visible to you.</p>;
  const { state } = account.mobility;

  return (
    <>
      <section aria-labelledby="mobility">
        <h2 id="mobility">Connect for Mobile</h2>
        {stopped && (
          <p role="alert" class="banner">
            {stopped}
          </p>
        )}
        <p data-testid="mobility-state">
          Add-on: <strong>{STATES[state]}</strong>
        </p>
        {state === 'NOT_ACTIVATED' && powers.accountWide && open !== 'activate' && (
          <button type="button" onClick={() => setOpen('activate')}>
            Activate Connect for Mobile
          </button>
        )}
        {state !== 'NOT_ACTIVATED' && open !== 'settings' && (
          <button type="button" onClick={() => setOpen('settings')}>
            Settings
          </button>
        )}
        {state === 'NOT_ACTIVATED' && open === 'activate' && (
          <ActivateDialog
            account={account}
            onCancel={() => setOpen(null)}
            onActivate={async (input) => {
              const data = await request(token, Activate, { input });
              const errors = data.mobilityActivate.userErrors;
              if (errors.length === 0) {
                setOpen(null);
                load();
              }
              return errors;
            }}
          />
        )}
        {state === 'PENDING_SUPPORT' && powers.support && (
          <CompleteForm
            onComplete={async (router, group) => {
              const data = await request(token, Complete, {
                input: { accountId, mobilityRouter: router, groupName: group },
              });
              const errors = data.mobilityActivationComplete.userErrors;
              if (errors.length === 0) load();
              return errors;
            }}
          />
        )}
        {state !== 'NOT_ACTIVATED' && open === 'settings' && (
          <SettingsDialog
            token={token}
            accountId={accountId}
            accessNumbers={account.accessNumbers.nodes}
            settings={account.mobility.settings}
            powers={powers}
            onClose={() => setOpen(null)}
            onChanged={load}
          />
        )}
      </section>
      {state === 'ACTIVE' && (
        <MobilityUsers
          token={token}
          accountId={accountId}
          extensionLength={account.extensionLength ?? null}
          tick={tick}
        />
      )}
      {state !== 'NOT_ACTIVATED' && powers.accountWide && (
        <NotificationList token={token} accountId={accountId} support={powers.support} tick={tick} />
      )}
    </>
  );
}

/** Support finishes the set-up on the Mobility Router (M3). */
function CompleteForm({ onComplete }: { onComplete: (router: string, group: string) => Promise<Errors> }) {
  const [router, setRouter] = useState('');
  const [group, setGroup] = useState('');
  const { errors, busy, submit } = useSubmit('Completing failed.');
  const { at, other } = errorsOf(errors, ['mobilityRouter', 'groupName']);
  return (
    <form
      class="card"
      aria-labelledby="complete-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(() => onComplete(router, group));
      }}
    >
      <h3 id="complete-title">Complete the set-up</h3>
      <Field id="mobilityRouter" label="Mobility Router" errors={at('mobilityRouter')}>
        <input id="mobilityRouter" value={router} onInput={(e) => setRouter(e.currentTarget.value)} />
      </Field>
      <Field id="groupName" label="Group name" errors={at('groupName')}>
        <input id="groupName" value={group} onInput={(e) => setGroup(e.currentTarget.value)} />
      </Field>
      <FormEnd errors={other} submit="Complete set-up" busy={busy} />
    </form>
  );
}

interface Activation {
  accountId: string;
  confirmPurchase: boolean;
  voicemailAccessNumber: string;
  accessNumberId: string;
  reverseDialNumber: string;
  handoverNumber: string;
  sendEmailNotification: boolean;
}

function ActivateDialog({
  account,
  onCancel,
  onActivate,
}: {
  account: Account;
  onCancel: () => void;
  onActivate: (input: Activation) => Promise<Errors>;
}) {
  const { defaults, settings } = account.mobility;
  const [value, setValue] = useState<Activation>({
    accountId: account.id,
    confirmPurchase: false,
    voicemailAccessNumber: defaults.voicemailAccessNumber,
    accessNumberId: account.accessNumbers.nodes[0]?.id ?? '',
    // Filled only where the account has none yet: a stored number is kept.
    reverseDialNumber: settings.reverseDialNumber ?? defaults.reverseDialNumber,
    handoverNumber: settings.handoverNumber ?? defaults.handoverNumber,
    sendEmailNotification: settings.sendEmailNotification,
  });
  const { errors, busy, submit } = useSubmit('Activation failed.');
  const { at, other } = errorsOf(errors, [
    'voicemailAccessNumber',
    'accessNumberId',
    'reverseDialNumber',
    'handoverNumber',
  ]);
  const text = (field: 'voicemailAccessNumber' | 'reverseDialNumber' | 'handoverNumber', label: string) => (
    <Field id={field} label={label} errors={at(field)}>
      <input
        id={field}
        inputMode="numeric"
        value={value[field]}
        onInput={(e) => setValue({ ...value, [field]: e.currentTarget.value })}
      />
    </Field>
  );

  return (
    <form
      class="card"
      role="dialog"
      aria-labelledby="activate-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(() => onActivate(value));
      }}
    >
      <h3 id="activate-title">Activate Connect for Mobile for {account.name}</h3>
      {text('voicemailAccessNumber', 'Voicemail access number')}
      <Field id="accessNumberId" label="Access number" errors={at('accessNumberId')}>
        <select
          id="accessNumberId"
          value={value.accessNumberId}
          onChange={(e) => setValue({ ...value, accessNumberId: e.currentTarget.value })}
        >
          {account.accessNumbers.nodes.map((n) => (
            <option key={n.id} value={n.id}>
              {n.number} ({n.label})
            </option>
          ))}
        </select>
      </Field>
      {text('reverseDialNumber', 'Reverse dial number')}
      {text('handoverNumber', 'Handover number')}
      <label>
        <input
          type="checkbox"
          checked={value.sendEmailNotification}
          onChange={(e) => setValue({ ...value, sendEmailNotification: e.currentTarget.checked })}
        />{' '}
        Send email notification
      </label>
      <label>
        <input
          id="confirm-purchase"
          type="checkbox"
          checked={value.confirmPurchase}
          onChange={(e) => setValue({ ...value, confirmPurchase: e.currentTarget.checked })}
        />{' '}
        I confirm the purchase of Connect for Mobile
      </label>
      <FormEnd
        errors={other}
        submit="Activate"
        busy={busy}
        disabled={!value.confirmPurchase || !value.accessNumberId}
        onCancel={onCancel}
      />
    </form>
  );
}
