// My Numbers and Manage Status: a user's numbers (with why a field is locked) and statuses,
// adding and deleting numbers and picking the active status; the page follows the user's
// changes live, whichever browser or client makes them.
import { useState } from 'preact/hooks';
import { ApiError, request, subscribe, useQuery, useSubscriptions } from './api';
import { graphql } from './gql';
import { Head } from './pages';
import { type Errors, Field, errorsOf, FormEnd, Hint, useSubmit } from './fields';
import type { MyScreenQuery } from './gql/graphql';
import { type StatusInput, StatusTable } from './statuses';

const Screen = graphql(`
  query MyScreen {
    me {
      id
      name
      canAddRemoteExtension
      canAddStatus
      clientProfile {
        callThroughAllowed
      }
      numbers(first: 50) {
        nodes {
          id
          label
          number
          isRemoteExtension
          origin
          callThrough
          callThroughEffective
          callThroughInactiveReason
          locked
          lockReasons
          deletable
        }
      }
      dynamicStatuses {
        ...StatusFields
      }
    }
  }
`);

const Create = graphql(`
  mutation AddNumber($input: UserNumberCreateInput!) {
    userNumberCreate(input: $input) {
      userNumber {
        id
      }
      userErrors {
        ...Refusal
      }
    }
  }
`);

const Edit = graphql(`
  mutation EditNumber($input: UserNumberUpdateInput!) {
    userNumberUpdate(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

const CreateStatus = graphql(`
  mutation CreateStatus($input: DynamicStatusCreateInput!) {
    dynamicStatusCreate(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

const UpdateStatus = graphql(`
  mutation UpdateStatus($input: DynamicStatusUpdateInput!) {
    dynamicStatusUpdate(input: $input) {
      userErrors {
        ...Refusal
      }
    }
  }
`);

const Delete = graphql(`
  mutation DeleteNumber($input: UserNumberDeleteInput!) {
    userNumberDelete(input: $input) {
      deletedId
      userErrors {
        ...Refusal
      }
    }
  }
`);

const Activate = graphql(`
  mutation ActivateStatus($input: DynamicStatusActivateInput!) {
    dynamicStatusActivate(input: $input) {
      dynamicStatus {
        id
      }
      userErrors {
        ...Refusal
      }
    }
  }
`);

const NumbersChanged = graphql(`
  subscription NumbersChanged {
    userNumbersChanged {
      eventId
    }
  }
`);

const StatusChanged = graphql(`
  subscription StatusChanged {
    activeStatusChanged {
      eventId
    }
  }
`);

type Me = NonNullable<MyScreenQuery['me']>;
type Number = Me['numbers']['nodes'][number];

const LOCKS: Record<Number['lockReasons'][number], string> = {
  PROVISIONED: 'Provisioned by your administrator or the phone system: only the label can change.',
  USED_BY_STATUS: 'A status uses it as its remote extension.',
  ACTIVE_REMOTE_EXTENSION: 'It is the remote extension of your active status.',
};

const CALL_THROUGH: Record<NonNullable<Number['callThroughInactiveReason']>, string> = {
  NOT_REMOTE_EXTENSION: 'not a remote extension',
  DISABLED: 'switched off',
  NOT_ALLOWED_BY_PROFILE: 'not allowed by your client profile',
  NOT_IN_ACTIVE_STATUS: 'not the remote extension of your active status',
};

const ORIGINS: Record<Number['origin'], string> = {
  USER: 'You',
  ADMIN: 'Administrator',
  PLATFORM: 'Phone system',
};

export function MyScreen({ token, userId }: { token: string; userId: string }) {
  const { data, error: loadError, reload: load } = useQuery(token, Screen);
  const me = data?.me ?? null;
  // What the last change was refused for; the screen's reload does not clear it.
  const [refused, setRefused] = useState<string | null>(null);
  const error = refused ?? loadError;

  // Live: any change to the user's numbers or active status reloads the screen.
  useSubscriptions(
    token,
    (client) => [
      subscribe(client, NumbersChanged, {}, load, setRefused),
      subscribe(client, StatusChanged, {}, load, setRefused),
    ],
    [load],
  );

  const run = async (work: () => Promise<string | null>) => {
    try {
      setRefused(await work());
    } catch (e) {
      setRefused(e instanceof ApiError ? e.message : 'The change failed.');
    }
    load();
  };

  if (!me) {
    return error ? (
      <p role="alert" class="banner">
        {error}
      </p>
    ) : (
      <p aria-busy="true">Loading…</p>
    );
  }

  return (
    <div class="screens" data-user={userId}>
      {error && (
        <p role="alert" class="banner">
          {error}
        </p>
      )}
      <Statuses
        me={me}
        onActivate={(id) =>
          run(async () => {
            const data = await request(token, Activate, { input: { id } });
            return data.dynamicStatusActivate.userErrors[0]?.message ?? null;
          })
        }
        onSave={async (base, input) => {
          if (base) {
            const data = await request(token, UpdateStatus, {
              input: { id: base.id, expectedVersion: base.version, ...input },
            });
            const errors = data.dynamicStatusUpdate.userErrors;
            load();
            if (errors.some((e) => e.code === 'STALE_VERSION')) {
              const message = 'The status was changed elsewhere meanwhile; the form shows it as it is now. Make your change again.';
              return [{ field: null, message, code: 'STALE_VERSION' }];
            }
            return errors;
          }
          const data = await request(token, CreateStatus, {
            input: { name: '', presence: 'AVAILABLE', ...input },
          });
          const errors = data.dynamicStatusCreate.userErrors;
          if (errors.length === 0) load();
          return errors;
        }}
      />
      <Numbers
        me={me}
        onDelete={(id) =>
          run(async () => {
            const data = await request(token, Delete, { input: { id } });
            return data.userNumberDelete.userErrors[0]?.message ?? null;
          })
        }
        onEdit={async (input) => {
          const data = await request(token, Edit, { input });
          const errors = data.userNumberUpdate.userErrors;
          if (errors.length === 0) load();
          return errors;
        }}
      />
      <AddNumber
        canAddRemoteExtension={me.canAddRemoteExtension}
        onAdd={async (input) => {
          const data = await request(token, Create, { input });
          const errors = data.userNumberCreate.userErrors;
          if (errors.length === 0) load();
          return errors;
        }}
      />
    </div>
  );
}

function Statuses({
  me,
  onActivate,
  onSave,
}: {
  me: Me;
  onActivate: (id: string) => void;
  onSave: (status: Me['dynamicStatuses'][number] | null, input: StatusInput) => Promise<Errors>;
}) {
  const active = me.dynamicStatuses.find((s) => s.isActive);
  // The menu picks, the button switches: arrowing through a closed menu must not activate every
  // status on the way. A switch made elsewhere moves the menu along.
  // A pick holds while the active status is the one it was made against; a switch (here or
  // elsewhere) voids it and the menu shows the active status again. Derived, not reset in an
  // effect, which runs after the paint and could undo a pick made first.
  const [pick, setPick] = useState<{ against?: string; id: string } | null>(null);
  const chosen = pick && pick.against === active?.id ? pick.id : (active?.id ?? '');
  const setChosen = (id: string) => setPick({ against: active?.id, id });
  return (
    <section aria-labelledby="statuses">
      <h2 id="statuses">Manage Status</h2>
      <p data-testid="active-status">
        Active: <strong>{active ? active.name : 'none'}</strong>
      </p>
      <label for="availability">Availability</label>{' '}
      <select id="availability" value={chosen} onChange={(e) => setChosen(e.currentTarget.value)}>
        {!active && <option value="">Choose a status</option>}
        {me.dynamicStatuses.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
            {s.remoteExtension ? ` (rings ${s.remoteExtension.label})` : ''}
          </option>
        ))}
      </select>{' '}
      <button type="button" disabled={!chosen || chosen === active?.id} onClick={() => onActivate(chosen)}>
        Set status
      </button>
      <StatusTable statuses={me.dynamicStatuses} phones={me.numbers.nodes} canAdd={me.canAddStatus} onSave={onSave} />
    </section>
  );
}

type NumberChange = {
  id: string;
  label?: string;
  number?: string;
  isRemoteExtension?: boolean;
  callThrough?: boolean;
};

function Numbers({
  me,
  onDelete,
  onEdit,
}: {
  me: Me;
  onDelete: (id: string) => void;
  onEdit: (input: NumberChange) => Promise<Errors>;
}) {
  const [editing, setEditing] = useState<string | null>(null);
  const edited = me.numbers.nodes.find((n) => n.id === editing);
  return (
    <section aria-labelledby="numbers">
      <h2 id="numbers">My Numbers</h2>
      <table class="numbers">
        <Head columns={['Label', 'Number', 'Remote extension', 'Call through', 'Added by']} actions />
        <tbody>
          {me.numbers.nodes.map((n) => {
            const locked = n.lockReasons.map((r) => LOCKS[r]).join(' ');
            return (
              <tr key={n.id} data-number={n.number}>
                <td>{n.label}</td>
                <td class={locked ? 'locked' : undefined}>
                  {n.number}
                  {locked && (
                    <Hint label={`Locked: ${locked}`} reason={locked} />
                  )}
                </td>
                <td class={locked ? 'locked' : undefined}>{n.isRemoteExtension ? 'Yes' : 'No'}</td>
                <td>
                  {n.callThroughEffective
                    ? 'In effect'
                    : `Off: ${CALL_THROUGH[n.callThroughInactiveReason ?? 'DISABLED']}`}
                </td>
                <td>{ORIGINS[n.origin]}</td>
                <td>
                  <button type="button" onClick={() => setEditing(n.id)}>
                    Edit<span class="sr-only"> {n.label}</span>
                  </button>{' '}
                  {n.deletable && (
                    <button
                      type="button"
                      onClick={() => {
                        if (window.confirm(`Delete ${n.label}?`)) onDelete(n.id);
                      }}
                    >
                      Delete<span class="sr-only"> {n.label}</span>
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {edited && (
        <EditNumber
          key={edited.id}
          number={edited}
          callThroughAllowed={me.clientProfile?.callThroughAllowed ?? false}
          onCancel={() => setEditing(null)}
          onSave={async (input) => {
            const errors = await onEdit(input);
            if (errors.length === 0) setEditing(null);
            return errors;
          }}
        />
      )}
    </section>
  );
}

/** A number's label always; its number and remote-extension flag unless locked (R5); call
 * through on a remote extension (R11). Only what changed is sent. */
function EditNumber({
  number: n,
  callThroughAllowed,
  onCancel,
  onSave,
}: {
  number: Number;
  /** The client profile lets the user switch call through on (R11). */
  callThroughAllowed: boolean;
  onCancel: () => void;
  onSave: (input: NumberChange) => Promise<Errors>;
}) {
  const [base] = useState(n);
  const [value, setValue] = useState({
    label: n.label,
    number: n.number,
    isRemoteExtension: n.isRemoteExtension,
    callThrough: n.callThrough,
  });
  const { errors, busy, submit } = useSubmit('Saving failed.');
  const { at, other } = errorsOf(errors, ['label', 'number', 'isRemoteExtension', 'callThrough']);
  const locked = n.lockReasons.map((r) => LOCKS[r]).join(' ');
  return (
    <form
      class="card"
      aria-labelledby="edit-number"
      onSubmit={async (e) => {
        e.preventDefault();
        // Only what changed since the form opened: a field changed elsewhere meanwhile and left
        // alone here stays as the other change made it.
        const input: NumberChange = { id: base.id };
        if (value.label !== base.label) input.label = value.label;
        if (value.number !== base.number) input.number = value.number;
        if (value.isRemoteExtension !== base.isRemoteExtension) input.isRemoteExtension = value.isRemoteExtension;
        if (value.callThrough !== base.callThrough) input.callThrough = value.callThrough;
        void submit(() => onSave(input));
      }}
    >
      <h3 id="edit-number">Edit {n.label}</h3>
      <Field id="edit-label" label="Label" errors={at('label')}>
        <input id="edit-label" value={value.label} onInput={(e) => setValue({ ...value, label: e.currentTarget.value })} />
      </Field>
      <Field id="edit-number-value" label="Number" errors={at('number')}>
        <input
          id="edit-number-value"
          inputMode="tel"
          value={value.number}
          readOnly={n.locked}
          class={n.locked ? 'locked' : undefined}
          aria-describedby={n.locked ? 'edit-lock' : undefined}
          onInput={(e) => setValue({ ...value, number: e.currentTarget.value })}
        />
        {n.locked && (
          <p id="edit-lock" class="locked">
            <span class="hint" aria-hidden="true">
              i
            </span>{' '}
            {locked}
          </p>
        )}
      </Field>
      <Field id="edit-remote" label="" errors={at('isRemoteExtension')}>
        <label class={n.locked ? 'check locked' : 'check'}>
          <input
            id="edit-remote"
            type="checkbox"
            disabled={n.locked}
            checked={value.isRemoteExtension}
            onChange={(e) => setValue({ ...value, isRemoteExtension: e.currentTarget.checked })}
          />{' '}
          Remote extension
        </label>
      </Field>
      <Field id="edit-call-through" label="" errors={at('callThrough')}>
        <label class={value.isRemoteExtension && callThroughAllowed ? 'check' : 'check locked'}>
          <input
            id="edit-call-through"
            type="checkbox"
            // Switching it off stays possible where the profile stopped allowing it.
            disabled={!value.isRemoteExtension || (!callThroughAllowed && !value.callThrough)}
            checked={value.callThrough}
            onChange={(e) => setValue({ ...value, callThrough: e.currentTarget.checked })}
          />{' '}
          Call through
        </label>
        {!callThroughAllowed && (
          <Hint
            label="Why not: your client profile does not allow call through."
            reason="Your client profile does not allow call through."
          />
        )}
      </Field>
      <FormEnd errors={other} submit="Save number" busy={busy} onCancel={onCancel} />
    </form>
  );
}

interface NewNumber {
  label: string;
  number: string;
  isRemoteExtension: boolean;
}

function AddNumber({
  canAddRemoteExtension,
  onAdd,
}: {
  canAddRemoteExtension: boolean;
  onAdd: (input: NewNumber) => Promise<Errors>;
}) {
  const empty: NewNumber = { label: '', number: '', isRemoteExtension: false };
  const [value, setValue] = useState<NewNumber>(empty);
  const { errors, busy, submit } = useSubmit('Adding the number failed.');
  const { at, other } = errorsOf(errors, ['label', 'number', 'isRemoteExtension']);

  return (
    <form
      class="card"
      aria-labelledby="add-number"
      onSubmit={async (e) => {
        e.preventDefault();
        if ((await submit(() => onAdd(value))).length === 0) setValue(empty);
      }}
    >
      <h2 id="add-number">Add Number</h2>
      <Field id="new-label" label="Label" errors={at('label')}>
        <input
          id="new-label"
          value={value.label}
          onInput={(e) => setValue({ ...value, label: e.currentTarget.value })}
        />
      </Field>
      <Field id="new-number" label="Number" errors={at('number')}>
        <input
          id="new-number"
          inputMode="tel"
          value={value.number}
          onInput={(e) => setValue({ ...value, number: e.currentTarget.value })}
        />
      </Field>
      <Field id="new-remote" label="" errors={at('isRemoteExtension')}>
        <label class={canAddRemoteExtension ? 'check' : 'check locked'}>
          <input
            id="new-remote"
            type="checkbox"
            disabled={!canAddRemoteExtension}
            checked={value.isRemoteExtension}
            onChange={(e) => setValue({ ...value, isRemoteExtension: e.currentTarget.checked })}
          />{' '}
          Remote extension
        </label>
        {!canAddRemoteExtension && (
          <Hint
            label="Why not: you may add a remote extension once your administrator or the phone system has given you one."
            reason="You may add a remote extension once your administrator or the phone system has given you one (R2)."
          />
        )}
      </Field>
      <FormEnd errors={other} submit="Add Number" busy={busy} />
    </form>
  );
}
