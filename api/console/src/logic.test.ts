// The console's logic outside the components: which errors go to which field or row, what a
// status form sends (R8 left to the server), live sync runs merged in place, what Support may
// send again.
import { describe, expect, it } from 'vitest';
import { describedBy, errorsOf } from './fields';
import type { StatusFieldsFragment, TargetKind } from './gql/graphql';
import { changeLine, retryable } from './notifications';
import { draftOf, statusInput } from './statuses';
import { merged, reloaded } from './sync';
import { byRow } from './wizard';

describe('errorsOf', () => {
  it('puts an error under the field its path ends with, the rest apart', () => {
    const errors = [
      { field: ['input', 'number'], message: 'bad number' },
      { field: null, message: 'whole form' },
      { field: ['other'], message: 'not a field here' },
    ];
    const { at, other } = errorsOf(errors, ['number', 'label']);
    expect(at('number').map((e) => e.message)).toEqual(['bad number']);
    expect(at('label')).toEqual([]);
    expect(other.map((e) => e.message)).toEqual(['whole form', 'not a field here']);
  });
});

describe('describedBy', () => {
  it('points a control at each of its errors, after a description it already has', () => {
    const two = [
      { field: ['number'], message: 'a' },
      { field: ['number'], message: 'b' },
    ];
    expect(describedBy('n', two, 'n-lock')).toEqual({
      'aria-invalid': true,
      'aria-describedby': 'n-lock n-error n-error-2',
    });
    expect(describedBy('n', [])).toEqual({ 'aria-invalid': undefined, 'aria-describedby': undefined });
  });
});

describe('byRow', () => {
  it('files a batch error under its row index, the rest under -1', () => {
    const rows = byRow([
      { field: ['users', '1', 'mobilityExtension'], message: 'taken' },
      { field: ['users', '1', 'userId'], message: 'not eligible' },
      { field: ['accountId'], message: 'no account' },
    ]);
    expect(rows.get(1)?.map((e) => e.message)).toEqual(['taken', 'not eligible']);
    expect(rows.get(-1)?.map((e) => e.message)).toEqual(['no account']);
    expect(rows.has(0)).toBe(false);
  });
});

const target = (kind: TargetKind): StatusFieldsFragment['callUsing'] => ({ kind, number: null });

const status: StatusFieldsFragment = {
  id: 'S1',
  name: 'Summer',
  presence: 'AVAILABLE',
  message: 'at the lake',
  isActive: false,
  editable: true,
  version: 3,
  remoteExtension: null,
  callUsing: target('DESK_PHONE'),
  sendCallsTo: target('DESK_PHONE'),
  whenBusy: target('VOICEMAIL'),
  ifNoAnswer: target('VOICEMAIL'),
};

describe('statusInput', () => {
  it('a new status sends its name and presence and only the targets set by hand', () => {
    const draft = { ...draftOf(null), name: 'Lake', remoteExtensionId: 'N1' };
    draft.targets = { ...draft.targets, callUsing: 'NUMBER:N1', sendCallsTo: 'NUMBER:N1', whenBusy: 'NO_DIVERSION' };
    // The form showed R8's fill for callUsing and sendCallsTo; only whenBusy was touched.
    expect(statusInput(null, draft, new Set(['whenBusy']))).toEqual({
      name: 'Lake',
      presence: 'AVAILABLE',
      remoteExtensionId: 'N1',
      whenBusy: { kind: 'NO_DIVERSION' },
    });
  });

  it('an update sends what changed: a cleared message and remote extension as null', () => {
    const draft = { ...draftOf(status), message: '', presence: 'BUSY' as const };
    expect(statusInput(status, draft, new Set())).toEqual({ presence: 'BUSY', message: null });
    const withRemote = { ...draftOf({ ...status, remoteExtension: { id: 'N1', label: 'Lake' } }) };
    expect(
      statusInput({ ...status, remoteExtension: { id: 'N1', label: 'Lake' } }, { ...withRemote, remoteExtensionId: '' }, new Set()),
    ).toEqual({ remoteExtensionId: null });
  });

  it('a target chosen by hand wins and is sent; one set back to what it was is not', () => {
    const draft = draftOf(status);
    draft.targets = { ...draft.targets, callUsing: 'SOFTPHONE', sendCallsTo: 'DESK_PHONE' };
    expect(statusInput(status, draft, new Set(['callUsing', 'sendCallsTo']))).toEqual({
      callUsing: { kind: 'SOFTPHONE' },
    });
    draft.targets = { ...draft.targets, ifNoAnswer: 'NUMBER:N2' };
    expect(statusInput(status, draft, new Set(['ifNoAnswer']))).toEqual({
      ifNoAnswer: { kind: 'NUMBER', numberId: 'N2' },
    });
  });
});

describe('statusInput with a remote extension chosen (R8)', () => {
  it('sends a target set by hand even where it is its old value, so the server does not fill it', () => {
    // Remote extension N1 chosen, then Call using set back to the desk phone it was.
    const draft = { ...draftOf(status), remoteExtensionId: 'N1' };
    draft.targets = { ...draft.targets, callUsing: 'DESK_PHONE', sendCallsTo: 'NUMBER:N1' };
    expect(statusInput(status, draft, new Set(['callUsing']))).toEqual({
      remoteExtensionId: 'N1',
      callUsing: { kind: 'DESK_PHONE' },
    });
    // A new status the same way: Call using stays the desk phone, Send my calls to is filled.
    const fresh = { ...draftOf(null), name: 'Lake', remoteExtensionId: 'N1' };
    expect(statusInput(null, fresh, new Set(['callUsing']))).toMatchObject({ callUsing: { kind: 'DESK_PHONE' } });
  });
});

describe('merged', () => {
  const run = (id: string, state: 'PENDING' | 'RUNNING' | 'SUCCEEDED', created = 0, version = 1, at = '10') => ({
    id,
    state,
    version,
    requestedAt: `2026-12-07T${at}:00:00Z`,
    finishedAt: null,
    requestedBy: { kind: 'SUPPORT' as const, name: 'schedule' },
    created,
    updated: 0,
    removed: 0,
    kept: 0,
    exported: 0,
    errors: [],
  });
  it('replaces a run in its place and puts a new one first', () => {
    const runs = [run('B', 'RUNNING'), run('A', 'SUCCEEDED')];
    expect(merged(runs, run('B', 'SUCCEEDED', 4, 2)).map((r) => [r.id, r.state, r.created])).toEqual([
      ['B', 'SUCCEEDED', 4],
      ['A', 'SUCCEEDED', 0],
    ]);
    expect(merged(runs, run('C', 'PENDING')).map((r) => r.id)).toEqual(['C', 'B', 'A']);
  });
  it('keeps the newer of two versions of a run', () => {
    const runs = [run('B', 'SUCCEEDED', 4, 3)];
    expect(merged(runs, run('B', 'RUNNING', 0, 2))).toBe(runs);
  });
  it('merges a list read again with the runs the subscription brought meanwhile', () => {
    // The read started before run C was asked for and before B finished.
    const held = [run('C', 'RUNNING', 0, 2, '12'), run('B', 'SUCCEEDED', 4, 3, '11')];
    const read = [run('B', 'RUNNING', 0, 2, '11'), run('A', 'SUCCEEDED', 1, 3, '10')];
    expect(reloaded(held, read).map((r) => [r.id, r.state])).toEqual([
      ['C', 'RUNNING'],
      ['B', 'SUCCEEDED'],
      ['A', 'SUCCEEDED'],
    ]);
  });
});

describe('notifications', () => {
  it('offers Send again only for a failed or retrying delivery', () => {
    const offered = (['PENDING', 'SENT', 'RETRYING', 'FAILED', 'SKIPPED'] as const).filter((status) =>
      retryable({ status }),
    );
    expect(offered).toEqual(['RETRYING', 'FAILED']);
  });
  it('writes a change with the setting name people read', () => {
    expect(changeLine({ field: 'handoverNumber', oldValue: null, newValue: '6465692222' })).toBe(
      'Handover number: (none) → 6465692222',
    );
  });
});
