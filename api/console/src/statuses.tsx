// Manage Status: the user's statuses with where calls ring and how they are placed, the active
// one picked from the availability menu, a status built or changed in a form. Choosing a remote
// extension makes it the phone that calls and the one that rings unless the person set those
// themselves in the same form (R8): the form shows what the server will store, and leaves the
// fields out of the request so the server applies the rule.
import { useEffect, useState } from 'preact/hooks';
import { type Errors, Field, errorsOf, FormEnd, useSubmit } from './fields';
import { graphql } from './gql';
import { Head } from './pages';
import type { CallTargetInput, Presence, StatusFieldsFragment, TargetKind } from './gql/graphql';

graphql(`
  fragment Target on CallTarget {
    kind
    number {
      id
      label
    }
  }
`);

graphql(`
  fragment StatusFields on DynamicStatus {
    id
    name
    presence
    message
    isActive
    editable
    version
    remoteExtension {
      id
      label
    }
    callUsing {
      ...Target
    }
    sendCallsTo {
      ...Target
    }
    whenBusy {
      ...Target
    }
    ifNoAnswer {
      ...Target
    }
  }
`);

type Status = StatusFieldsFragment;
type Targets = 'callUsing' | 'sendCallsTo' | 'whenBusy' | 'ifNoAnswer';

/** A number the user may route to: its id, label and whether it is a remote extension. */
export interface Phone {
  id: string;
  label: string;
  number: string;
  isRemoteExtension: boolean;
}

/** The input of a create (every field) or an update (what changed, with `id`). */
export type StatusInput = {
  name?: string;
  presence?: Presence;
  message?: string | null;
  remoteExtensionId?: string | null;
} & Partial<Record<Targets, CallTargetInput>>;

const PRESENCES: Record<Presence, string> = {
  AVAILABLE: 'Available',
  BUSY: 'Busy',
  AWAY: 'Away',
  DO_NOT_DISTURB: 'Do not disturb',
  IN_A_MEETING: 'In a meeting',
  OUT_OF_OFFICE: 'Out of office',
};

const KINDS: Record<Exclude<TargetKind, 'NUMBER'>, string> = {
  DESK_PHONE: 'Desk phone',
  SOFTPHONE: 'Softphone',
  ALL_DEVICES: 'All devices',
  VOICEMAIL: 'Voicemail',
  PBX_DEFAULT: 'Phone system default',
  NO_DIVERSION: 'No diversion',
};

/** Which kinds fit which field (docs/behaviour.md, Routing targets), and its label. */
const FIELDS: [Targets, string, Exclude<TargetKind, 'NUMBER'>[]][] = [
  ['callUsing', 'Call using', ['DESK_PHONE', 'SOFTPHONE', 'PBX_DEFAULT']],
  ['sendCallsTo', 'Send my calls to', ['DESK_PHONE', 'SOFTPHONE', 'ALL_DEVICES', 'VOICEMAIL', 'PBX_DEFAULT']],
  ['whenBusy', 'When busy', ['VOICEMAIL', 'PBX_DEFAULT', 'NO_DIVERSION']],
  ['ifNoAnswer', 'If no answer', ['VOICEMAIL', 'PBX_DEFAULT', 'NO_DIVERSION']],
];

/** What a new status starts with (the server's defaults). */
const DEFAULTS: Record<Targets, string> = {
  callUsing: 'DESK_PHONE',
  sendCallsTo: 'DESK_PHONE',
  whenBusy: 'VOICEMAIL',
  ifNoAnswer: 'VOICEMAIL',
};

/** A target as a select's value: the kind, or `NUMBER:<id>`. */
function encode(t: Status['callUsing']): string {
  return t.kind === 'NUMBER' && t.number ? `NUMBER:${t.number.id}` : t.kind;
}

function decode(value: string): CallTargetInput {
  return value.startsWith('NUMBER:')
    ? { kind: 'NUMBER', numberId: value.slice('NUMBER:'.length) }
    : { kind: value as TargetKind };
}

/** "Desk phone", or the number's label. */
export function targetName(t: Status['callUsing']): string {
  return t.kind === 'NUMBER' ? (t.number?.label ?? 'a number') : KINDS[t.kind];
}

export function StatusTable({
  statuses,
  phones,
  canAdd,
  onSave,
}: {
  statuses: Status[];
  phones: Phone[];
  canAdd: boolean;
  /** Saves `input`, a create (`base` null) or a change of `base` as the form opened it. */
  onSave: (base: Status | null, input: StatusInput) => Promise<Errors>;
}) {
  const [open, setOpen] = useState<string | 'new' | null>(null);
  const editing = statuses.find((s) => s.id === open) ?? null;
  return (
    <>
      <table class="statuses">
        <Head columns={['Status', 'Presence', 'Remote extension', 'Call using', 'Send my calls to']} actions />
        <tbody>
          {statuses.map((s) => (
            <tr key={s.id} data-status={s.name}>
              <td>
                {s.name}
                {s.isActive && <strong> (active)</strong>}
              </td>
              <td>{PRESENCES[s.presence]}</td>
              <td>{s.remoteExtension?.label ?? '—'}</td>
              <td>{targetName(s.callUsing)}</td>
              <td>{targetName(s.sendCallsTo)}</td>
              <td>
                {s.editable && open !== s.id && (
                  <button type="button" onClick={() => setOpen(s.id)}>
                    Edit<span class="sr-only"> {s.name}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {canAdd && open === null && (
        <button type="button" onClick={() => setOpen('new')}>
          Add status
        </button>
      )}
      {open !== null && (open === 'new' || editing) && (
        <StatusForm
          key={open}
          status={editing}
          phones={phones}
          onCancel={() => setOpen(null)}
          onSave={async (base, input) => {
            const errors = await onSave(base, input);
            if (errors.length === 0) setOpen(null);
            return errors;
          }}
        />
      )}
    </>
  );
}

export interface Draft {
  name: string;
  presence: Presence;
  message: string;
  remoteExtensionId: string;
  targets: Record<Targets, string>;
}

export function draftOf(s: Status | null): Draft {
  return {
    name: s?.name ?? '',
    presence: s?.presence ?? 'AVAILABLE',
    message: s?.message ?? '',
    remoteExtensionId: s?.remoteExtension?.id ?? '',
    targets: s
      ? {
          callUsing: encode(s.callUsing),
          sendCallsTo: encode(s.sendCallsTo),
          whenBusy: encode(s.whenBusy),
          ifNoAnswer: encode(s.ifNoAnswer),
        }
      : { ...DEFAULTS },
  };
}

/** The request for `draft`: a create's fields, or an update's changes from `status`. Targets the
 * person did not set are left to the server, which fills `callUsing` and `sendCallsTo` from a
 * newly chosen remote extension (R8). Where the same request sets a remote extension, every
 * target set by hand is sent, even one set back to its old value, since the server would
 * otherwise fill it from the remote extension. */
export function statusInput(status: Status | null, draft: Draft, touched: Set<Targets>): StatusInput {
  const before = draftOf(status);
  const input: StatusInput = {};
  if (!status || draft.name !== before.name) input.name = draft.name;
  if (!status || draft.presence !== before.presence) input.presence = draft.presence;
  if (draft.message !== before.message) input.message = draft.message === '' ? null : draft.message;
  const remoteChanged = draft.remoteExtensionId !== before.remoteExtensionId;
  if (remoteChanged) input.remoteExtensionId = draft.remoteExtensionId || null;
  const filled = remoteChanged && draft.remoteExtensionId !== '';
  for (const [field] of FIELDS) {
    if (touched.has(field) && (filled || draft.targets[field] !== before.targets[field])) {
      input[field] = decode(draft.targets[field]);
    }
  }
  return input;
}

function StatusForm({
  status,
  phones,
  onCancel,
  onSave,
}: {
  /** The status as it is now (live); null for a new one. */
  status: Status | null;
  phones: Phone[];
  onCancel: () => void;
  onSave: (base: Status | null, input: StatusInput) => Promise<Errors>;
}) {
  // The status as the form opened it: the change is computed from it and sent with its version,
  // so a change made meanwhile elsewhere is refused as stale rather than undone.
  const [base, setBase] = useState(status);
  const [draft, setDraft] = useState(() => draftOf(status));
  const [touched, setTouched] = useState<Set<Targets>>(new Set());
  const [stale, setStale] = useState(false);
  const { errors, busy, submit } = useSubmit('Saving failed.');
  // Refused as stale: once the new version has arrived, the form starts again from it (the
  // refusal stays shown).
  useEffect(() => {
    if (!stale || !status || !base || status.version === base.version) return;
    setBase(status);
    setDraft(draftOf(status));
    setTouched(new Set());
    setStale(false);
  }, [stale, status, base]);
  const { at, other } = errorsOf(errors, ['name', 'presence', 'message', 'remoteExtensionId', ...FIELDS.map(([f]) => f)]);
  const remotes = phones.filter((p) => p.isRemoteExtension);
  const id = status ? `status-${status.id}` : 'status-new';

  const chooseRemote = (value: string) => {
    const targets = { ...draft.targets };
    const saved = draftOf(base).targets;
    // R8: the chosen remote extension calls and rings, unless set here by hand; with none
    // chosen, those two stay what they were.
    for (const field of ['callUsing', 'sendCallsTo'] as const) {
      if (!touched.has(field)) targets[field] = value ? `NUMBER:${value}` : saved[field];
    }
    setDraft({ ...draft, remoteExtensionId: value, targets });
  };

  return (
    <form
      class="card"
      aria-labelledby={`${id}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        void submit(() => onSave(base, statusInput(base, draft, touched))).then((found) => {
          if (found.some((e) => e.code === 'STALE_VERSION')) setStale(true);
        });
      }}
    >
      <h3 id={`${id}-title`}>{base ? `Edit ${base.name}` : 'New status'}</h3>
      <Field id={`${id}-name`} label="Name" errors={at('name')}>
        <input id={`${id}-name`} value={draft.name} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
      </Field>
      <Field id={`${id}-presence`} label="Presence" errors={at('presence')}>
        <select
          id={`${id}-presence`}
          value={draft.presence}
          onChange={(e) => setDraft({ ...draft, presence: e.currentTarget.value as Presence })}
        >
          {Object.entries(PRESENCES).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </Field>
      <Field id={`${id}-message`} label="Message" errors={at('message')}>
        <input
          id={`${id}-message`}
          value={draft.message}
          onInput={(e) => setDraft({ ...draft, message: e.currentTarget.value })}
        />
      </Field>
      <Field id={`${id}-remoteExtensionId`} label="Remote extension" errors={at('remoteExtensionId')}>
        <select
          id={`${id}-remoteExtensionId`}
          value={draft.remoteExtensionId}
          onChange={(e) => chooseRemote(e.currentTarget.value)}
        >
          <option value="">None</option>
          {remotes.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label} ({p.number})
            </option>
          ))}
        </select>
      </Field>
      {FIELDS.map(([field, label, kinds]) => (
        <Field key={field} id={`${id}-${field}`} label={label} errors={at(field)}>
          <select
            id={`${id}-${field}`}
            value={draft.targets[field]}
            onChange={(e) => {
              setTouched(new Set(touched).add(field));
              setDraft({ ...draft, targets: { ...draft.targets, [field]: e.currentTarget.value } });
            }}
          >
            {kinds.map((k) => (
              <option key={k} value={k}>
                {KINDS[k]}
              </option>
            ))}
            {(field === 'callUsing' ? remotes : phones).map((p) => (
              <option key={p.id} value={`NUMBER:${p.id}`}>
                {p.label} ({p.number})
              </option>
            ))}
          </select>
        </Field>
      ))}
      <FormEnd errors={other} submit="Save status" busy={busy} onCancel={onCancel} />
    </form>
  );
}
