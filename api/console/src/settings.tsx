// The add-on's Settings dialog. After activation only Support changes the six settings (M4):
// everyone else reads them; the email notification switch is the Decision Maker's and
// account-wide Phone Manager's too (M5). Support's save carries the version it was based on, so
// an edit made on settings that changed meanwhile is refused and the dialog shows the new values.
import { useState } from 'preact/hooks';
import { ApiError, request } from './api';
import { graphql } from './gql';
import { ErrorList, type Errors, Field, errorsOf } from './fields';
import type { SettingsFragment } from './gql/graphql';
import type { Powers } from './portal';

graphql(`
  fragment Settings on MobilitySettings {
    mobilityRouter
    groupName
    voicemailAccessNumber
    accessNumber {
      id
      number
      label
    }
    reverseDialNumber
    handoverNumber
    sendEmailNotification
    version
    updatedAt
  }
`);

const Current = graphql(`
  query CurrentSettings($id: ID!) {
    account(id: $id) {
      mobility {
        settings {
          ...Settings
        }
      }
    }
  }
`);

const Update = graphql(`
  mutation UpdateSettings($input: MobilitySettingsUpdateInput!) {
    mobilitySettingsUpdate(input: $input) {
      mobility {
        settings {
          ...Settings
        }
      }
      userErrors {
        ...Refusal
      }
    }
  }
`);

const EmailSet = graphql(`
  mutation SetEmailNotification($input: MobilityEmailNotificationSetInput!) {
    mobilityEmailNotificationSet(input: $input) {
      mobility {
        settings {
          ...Settings
        }
      }
      userErrors {
        ...Refusal
      }
    }
  }
`);

type Text = 'mobilityRouter' | 'groupName' | 'voicemailAccessNumber' | 'reverseDialNumber' | 'handoverNumber';

const TEXTS: [Text, string][] = [
  ['mobilityRouter', 'Mobility Router'],
  ['groupName', 'Group name'],
  ['voicemailAccessNumber', 'Voicemail access number'],
  ['reverseDialNumber', 'Reverse dial number'],
  ['handoverNumber', 'Handover number'],
];

type Draft = Record<Text, string> & { accessNumberId: string };

function draftOf(s: SettingsFragment): Draft {
  return {
    mobilityRouter: s.mobilityRouter ?? '',
    groupName: s.groupName ?? '',
    voicemailAccessNumber: s.voicemailAccessNumber ?? '',
    reverseDialNumber: s.reverseDialNumber ?? '',
    handoverNumber: s.handoverNumber ?? '',
    accessNumberId: s.accessNumber?.id ?? '',
  };
}

export function SettingsDialog({
  token,
  accountId,
  accessNumbers,
  settings: initial,
  powers,
  onClose,
  onChanged,
}: {
  token: string;
  accountId: string;
  accessNumbers: { id: string; number: string; label: string }[];
  settings: SettingsFragment;
  powers: Powers;
  onClose: () => void;
  onChanged: () => void;
}) {
  const [settings, setSettings] = useState(initial);
  const [draft, setDraft] = useState(() => draftOf(initial));
  const [errors, setErrors] = useState<Errors>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { at, other } = errorsOf(errors, [...TEXTS.map(([f]) => f), 'accessNumberId']);
  const editable = powers.support;

  const refused = (e: unknown, what: string) =>
    setErrors([{ field: null, message: e instanceof ApiError ? e.message : `${what} failed.` }]);

  const save = async () => {
    // Only what changed is sent: a field left alone stays as it is.
    const before = draftOf(settings);
    const changed = Object.fromEntries(
      (Object.keys(draft) as (keyof Draft)[]).filter((k) => draft[k] !== before[k]).map((k) => [k, draft[k]]),
    );
    if (Object.keys(changed).length === 0) {
      setNotice('Nothing changed.');
      return;
    }
    const data = await request(token, Update, {
      input: { accountId, expectedVersion: settings.version, ...changed },
    });
    const { mobility, userErrors } = data.mobilitySettingsUpdate;
    if (userErrors.some((e) => e.code === 'STALE_VERSION')) {
      // Somebody changed the settings since this dialog opened: show what they are now.
      const now = await request(token, Current, { id: accountId });
      const fresh = now.account?.mobility.settings;
      if (fresh) {
        setSettings(fresh);
        setDraft(draftOf(fresh));
      }
      setErrors([]);
      setNotice('The settings were changed by someone else meanwhile; these are the new values. Make your change again.');
      onChanged();
      return;
    }
    setErrors(userErrors);
    if (userErrors.length === 0 && mobility) {
      setSettings(mobility.settings);
      setDraft(draftOf(mobility.settings));
      setNotice('Saved.');
      onChanged();
    }
  };

  const setEmail = async (enabled: boolean) => {
    const data = await request(token, EmailSet, { input: { accountId, enabled } });
    const { mobility, userErrors } = data.mobilityEmailNotificationSet;
    setErrors(userErrors);
    if (userErrors.length === 0 && mobility) {
      // The switch is a change of the settings: their version grew with it.
      setSettings(mobility.settings);
      setNotice(enabled ? 'Settings changes will be mailed to the enabled users.' : 'No more mail on settings changes.');
    }
  };

  return (
    <form
      class="card"
      role="dialog"
      aria-labelledby="settings-title"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setNotice(null);
        try {
          await save();
        } catch (e) {
          refused(e, 'Saving');
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3 id="settings-title">Connect for Mobile settings</h3>
      {!editable && <p>Only Support changes these settings after activation. Contact Support to change them.</p>}
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      {TEXTS.map(([field, label]) => (
        <Field key={field} id={`settings-${field}`} label={label} errors={at(field)}>
          <input
            id={`settings-${field}`}
            value={draft[field]}
            readOnly={!editable}
            onInput={(e) => setDraft({ ...draft, [field]: e.currentTarget.value })}
          />
        </Field>
      ))}
      <Field id="settings-accessNumberId" label="Access number" errors={at('accessNumberId')}>
        <select
          id="settings-accessNumberId"
          value={draft.accessNumberId}
          disabled={!editable}
          onChange={(e) => setDraft({ ...draft, accessNumberId: e.currentTarget.value })}
        >
          {accessNumbers.map((n) => (
            <option key={n.id} value={n.id}>
              {n.number} ({n.label})
            </option>
          ))}
        </select>
      </Field>
      <label>
        <input
          type="checkbox"
          checked={settings.sendEmailNotification}
          disabled={!(powers.support || powers.accountWide) || busy}
          onChange={async (e) => {
            const enabled = e.currentTarget.checked;
            setBusy(true);
            setNotice(null);
            try {
              await setEmail(enabled);
            } catch (e) {
              refused(e, 'Changing the email setting');
            } finally {
              setBusy(false);
            }
          }}
        />{' '}
        Send email notification when settings change
      </label>
      <p class="meta">
        Version {settings.version}
        {settings.updatedAt && <>, last changed {new Date(settings.updatedAt).toLocaleString()}</>}
      </p>
      <ErrorList errors={other} />
      <div class="actions">
        {editable && (
          <>
            <button type="submit" disabled={busy}>
              Save
            </button>{' '}
          </>
        )}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
