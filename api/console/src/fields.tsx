// A form's fields and the `userErrors` a mutation answers: each error under the field it names
// (the last step of its `field` path), the rest above the form's buttons.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from './api';
import type { UserError } from './gql/graphql';

export type Errors = Pick<UserError, 'field' | 'message'>[];

/** The errors about `field`, and those about none of `fields`. */
export function errorsOf(errors: Errors, fields: string[]) {
  const name = (e: Errors[number]) => e.field?.at(-1) ?? '';
  return {
    at: (field: string) => errors.filter((e) => name(e) === field),
    other: errors.filter((e) => !fields.includes(name(e))),
  };
}

/** Errors as alerts; `id` names the field they are about (`{id}-error`), when there is one. */
export function ErrorList({ errors, id }: { errors: Errors; id?: string }) {
  return (
    <>
      {errors.map((e) => (
        <p role="alert" class="error" id={id && `${id}-error`} key={e.message}>
          {e.message}
        </p>
      ))}
    </>
  );
}

/** A labelled field with its errors under it. */
export function Field({
  id,
  label,
  errors,
  children,
}: {
  id: string;
  label: string;
  errors: Errors;
  children: ComponentChildren;
}) {
  return (
    <div class="field">
      {label && <label for={id}>{label}</label>}
      {children}
      <ErrorList errors={errors} id={id} />
    </div>
  );
}

/** A form's errors and whether it is busy, and `submit(work)`: runs `work` (the `userErrors` its
 * mutation answered) while busy and shows them; a request refused as a whole becomes an error
 * of the form's own, `failed` when it says nothing. Answers what it showed. */
export function useSubmit(failed: string) {
  const [errors, setErrors] = useState<Errors>([]);
  const [busy, setBusy] = useState(false);
  const submit = async (work: () => Promise<Errors>): Promise<Errors> => {
    setBusy(true);
    let found: Errors;
    try {
      found = await work();
    } catch (e) {
      found = [{ field: null, message: e instanceof ApiError ? e.message : failed }];
    } finally {
      setBusy(false);
    }
    setErrors(found);
    return found;
  };
  return { errors, setErrors, busy, submit };
}

/** A form's end: the refusals that name none of its fields, its submit button (off while `busy`
 * or `disabled`) and Cancel where there is one. */
export function FormEnd({
  errors,
  submit,
  busy,
  disabled = false,
  onCancel,
}: {
  errors: Errors;
  submit: string;
  busy: boolean;
  disabled?: boolean;
  onCancel?: () => void;
}) {
  return (
    <>
      <ErrorList errors={errors} />
      <div class="actions">
        <button type="submit" disabled={busy || disabled}>
          {submit}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </>
  );
}

/** The manual's "i": why something is greyed out. A button, so a keyboard reaches it too: it
 * shows the reason beside it while pressed (and as a tooltip on hover); a screen reader reads
 * `label` (`Locked: …`). */
export function Hint({ label, reason }: { label: string; reason: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        class="hint"
        title={reason}
        aria-label={label}
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        i
      </button>
      {open && (
        <span role="note" class="reason">
          {' '}
          {reason}
        </span>
      )}
    </>
  );
}
