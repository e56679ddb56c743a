// A form's fields and the `userErrors` a mutation answers: each error under the field it names
// (the last step of its `field` path), the rest above the form's buttons.
import { type ComponentChildren, cloneElement, isValidElement } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from './api';
import { graphql } from './gql';
import type { UserError } from './gql/graphql';

// What every mutation's `userErrors` are read for: where (the field) and what, for people, and
// the code where a form acts on it.
graphql(`
  fragment Refusal on UserError {
    field
    message
    code
  }
`);

/** A form's refusals; `code` where the form acts on it (`STALE_VERSION`). */
export type Errors = (Pick<UserError, 'field' | 'message'> & { code?: UserError['code'] })[];

/** The errors about `field`, and those about none of `fields`. */
export function errorsOf(errors: Errors, fields: string[]) {
  const name = (e: Errors[number]) => e.field?.at(-1) ?? '';
  return {
    at: (field: string) => errors.filter((e) => name(e) === field),
    other: errors.filter((e) => !fields.includes(name(e))),
  };
}

/** The ids of the errors about field `id`: `{id}-error`, then `{id}-error-2`… */
export function errorIds(id: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? `${id}-error` : `${id}-error-${i + 1}`));
}

/** What ties the control of field `id` to its errors, so a screen reader reads them with it;
 * `more` is another description it already has (a hint's id). */
export function describedBy(id: string, errors: Errors, more?: string) {
  const ids = [...(more ? [more] : []), ...errorIds(id, errors.length)];
  return {
    'aria-invalid': errors.length > 0 ? true : undefined,
    'aria-describedby': ids.length > 0 ? ids.join(' ') : undefined,
  };
}

/** Errors as alerts; `id` names the field they are about, when there is one (see [`errorIds`]). */
export function ErrorList({ errors, id }: { errors: Errors; id?: string }) {
  const ids = id ? errorIds(id, errors.length) : [];
  return (
    <>
      {errors.map((e, i) => (
        <p role="alert" class="error" id={ids[i]} key={`${i}-${e.message}`}>
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
  // An input, select or text area points at its errors, so a screen reader reads them with it.
  const control =
    errors.length > 0 && isValidElement(children) && ['input', 'select', 'textarea'].includes(String(children.type))
      ? cloneElement(children, describedBy(id, errors, (children.props as { 'aria-describedby'?: string })['aria-describedby']))
      : children;
  return (
    <div class="field">
      {label && <label for={id}>{label}</label>}
      {control}
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
