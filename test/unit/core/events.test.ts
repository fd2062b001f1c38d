// The public event each audit entry is (functions/core/events.ts; the catalogue is the README's
// "Events"): one test per action, and properties over any entry — nothing from `details` but
// previous_status and initial_sync (each one of its enum's values) reaches an event, so nothing
// secret can leak through, and a status write that left the status as it was is no event.
import fc from 'fast-check';
import { CONNECTION_EVENT_TYPES, toConnectionEvent } from '#core/events.js';
import { CONNECTION_STATUSES, type ConnectionStatus, INITIAL_SYNCS } from '#core/model.js';
import { AUDIT_ACTIONS, type AuditAction, type AuditRecord } from '#core/ports/audit.js';

const subject = { entity: 'entity-1', provider_id: 'gusto', company_id: 'company-1', status: 'connected' as ConnectionStatus };

function entry(action: AuditAction, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: 'entry-1', action, actor: 'user-1', customer_id: 'acme', connection_id: 'conn-1', at: '2026-11-30T12:00:00.000Z',
    subject, details: {}, ...overrides,
  };
}

const common = {
  id: 'entry-1', connection_id: 'conn-1', customer_id: 'acme', entity: 'entity-1', provider_id: 'gusto', company_id: 'company-1',
  occurred_at: '2026-11-30T12:00:00.000Z',
};

describe('each audit action maps to its event', () => {
  test('connection_stored → connection.connected, the detail made of the entry and its subject only', () => {
    expect(toConnectionEvent(entry('connection_stored', { details: { flow: 'redirect' } }))).toEqual({ ...common, type: 'connection.connected', status: 'connected' });
  });

  test('reauthenticated → connection.reauthenticated', () => {
    expect(toConnectionEvent(entry('reauthenticated'))).toEqual({ ...common, type: 'connection.reauthenticated', status: 'connected' });
  });

  test('reauth_required (the proxy\'s 401) → connection.reauth_required with the status before', () => {
    const record = entry('reauth_required', { subject: { ...subject, status: 'reauth' }, details: { finch_code: 'reauthenticate_user', previous_status: 'connected' } });
    expect(toConnectionEvent(record)).toEqual({ ...common, type: 'connection.reauth_required', status: 'reauth', previous_status: 'connected' });
  });

  test('reauth_required without a previous status still is the event; one already in reauth is none', () => {
    expect(toConnectionEvent(entry('reauth_required', { subject: { ...subject, status: 'reauth' } }))).toEqual({ ...common, type: 'connection.reauth_required', status: 'reauth' });
    expect(toConnectionEvent(entry('reauth_required', { subject: { ...subject, status: 'reauth' }, details: { previous_status: 'reauth' } }))).toBeNull();
  });

  test.each(['refreshed', 'webhook_applied'] as const)('%s to reauth from another status → connection.reauth_required', (action) => {
    const record = entry(action, { subject: { ...subject, status: 'reauth' }, details: { previous_status: 'connected' } });
    expect(toConnectionEvent(record)).toEqual({ ...common, type: 'connection.reauth_required', status: 'reauth', previous_status: 'connected' });
  });

  test.each(['refreshed', 'webhook_applied'] as const)('%s to another status → connection.status_changed; the same status, or none known, → no event', (action) => {
    const changed = entry(action, { subject: { ...subject, status: 'error_permissions' }, details: { previous_status: 'connected' } });
    expect(toConnectionEvent(changed)).toEqual({ ...common, type: 'connection.status_changed', status: 'error_permissions', previous_status: 'connected' });
    expect(toConnectionEvent(entry(action, { subject: { ...subject, status: 'connected' }, details: { previous_status: 'reauth' } })))
      .toMatchObject({ type: 'connection.status_changed', status: 'connected', previous_status: 'reauth' });
    expect(toConnectionEvent(entry(action, { details: { previous_status: 'connected' } }))).toBeNull();
    expect(toConnectionEvent(entry(action, { details: { event_type: 'job.data_sync_all.completed' } }))).toBeNull();
  });

  test('disconnected → connection.disconnected: reason customer for our DELETE, finch for Finch\'s webhook', () => {
    const ended = { ...subject, status: 'disconnected' as const };
    expect(toConnectionEvent(entry('disconnected', { subject: ended, details: { revocation_confirmed: true } })))
      .toEqual({ ...common, type: 'connection.disconnected', status: 'disconnected', reason: 'customer' });
    expect(toConnectionEvent(entry('disconnected', { actor: 'finch', subject: ended, details: { revocation_confirmed: true, event_id: 'msg_1' } })))
      .toEqual({ ...common, type: 'connection.disconnected', status: 'disconnected', reason: 'finch' });
  });

  test.each(INITIAL_SYNCS)('webhook_applied for the %s initial sync → connection.initial_sync_completed with the sync as reason', (sync) => {
    const record = entry('webhook_applied', { details: { event_type: `job.initial_data_sync_${sync}.succeeded`, event_id: 'msg_2', initial_sync: sync } });
    expect(toConnectionEvent(record)).toEqual({ ...common, type: 'connection.initial_sync_completed', status: 'connected', reason: sync });
  });

  test('company_updated → connection.company_updated', () => {
    expect(toConnectionEvent(entry('company_updated', { actor: 'enrich-company' }))).toEqual({ ...common, type: 'connection.company_updated', status: 'connected' });
  });

  test.each(['session_created', 'code_exchanged'] as const)('%s → no event (no connection yet)', (action) => {
    expect(toConnectionEvent(entry(action, { connection_id: null, subject: undefined }))).toBeNull();
    expect(toConnectionEvent(entry(action))).toBeNull();
  });

  test('an entry without its subject (written before subjects existed) or without a connection is no event', () => {
    expect(toConnectionEvent(entry('connection_stored', { subject: undefined }))).toBeNull();
    expect(toConnectionEvent(entry('connection_stored', { connection_id: null }))).toBeNull();
  });

  test('an action the mapping does not know is no event', () => {
    expect(toConnectionEvent(entry('key_rotated' as AuditAction))).toBeNull();
  });
});

// ---- Properties over any entry ------------------------------------------------------------------

const SECRET = 'SECRET-';
/** Any string a writer could put in details, marked so a leak is recognizable. */
const anyText = fc.string({ maxLength: 12 }).map((text) => `${SECRET}${text}`);
const statusOrText = fc.oneof(fc.constantFrom(...CONNECTION_STATUSES), anyText);
const details = fc.dictionary(
  fc.oneof(fc.constantFrom('previous_status', 'initial_sync', 'access_token', 'code', 'state', 'finch_code', 'event_id', 'status'), fc.string({ maxLength: 8 })),
  fc.oneof(anyText, fc.boolean(), fc.integer(), fc.constant(null), fc.constantFrom(...CONNECTION_STATUSES, ...INITIAL_SYNCS)),
  { maxKeys: 6 },
);
const record = fc.record({
  id: fc.uuid(),
  action: fc.constantFrom(...AUDIT_ACTIONS),
  actor: fc.oneof(fc.constant('finch'), fc.string({ maxLength: 10 })),
  customer_id: fc.string({ minLength: 1, maxLength: 10 }),
  connection_id: fc.option(fc.uuid(), { nil: null }),
  at: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  subject: fc.option(fc.record({
    entity: fc.option(fc.string({ maxLength: 8 }), { nil: null }),
    provider_id: fc.string({ minLength: 1, maxLength: 8 }),
    company_id: fc.option(fc.string({ maxLength: 8 }), { nil: null }),
    status: fc.constantFrom(...CONNECTION_STATUSES),
  }), { nil: undefined }),
  details: fc.oneof(details, fc.record({ previous_status: statusOrText, initial_sync: fc.oneof(fc.constantFrom(...INITIAL_SYNCS), anyText) }, { requiredKeys: [] })),
}) as fc.Arbitrary<AuditRecord>;

describe('properties of the mapping', () => {
  test('every field of an event comes from the entry\'s ids and time, its subject, or one of the two documented details as an enum value', () => {
    fc.assert(fc.property(record, (input) => {
      const event = toConnectionEvent(input);
      if (!event) return;
      const subjectOf = input.subject!;
      expect(Object.keys(event).sort()).toEqual(expect.arrayContaining(['id', 'type', 'connection_id', 'customer_id', 'entity', 'provider_id', 'company_id', 'status', 'occurred_at']));
      expect(Object.keys(event).every((key) => [
        'id', 'type', 'connection_id', 'customer_id', 'entity', 'provider_id', 'company_id', 'status', 'occurred_at', 'reason', 'previous_status',
      ].includes(key))).toBe(true);
      expect(event).toMatchObject({
        id: input.id, connection_id: input.connection_id, customer_id: input.customer_id, occurred_at: input.at,
        entity: subjectOf.entity, provider_id: subjectOf.provider_id, company_id: subjectOf.company_id, status: subjectOf.status,
      });
      expect(CONNECTION_EVENT_TYPES).toContain(event.type);
      if (event.previous_status !== undefined) {
        expect(CONNECTION_STATUSES).toContain(event.previous_status);
        expect(event.previous_status).toBe(input.details?.previous_status);
      }
      if (event.reason !== undefined) expect(['customer', 'finch', ...INITIAL_SYNCS]).toContain(event.reason);
      // Whatever else `details` held (a token, a code, a Finch code, an event id) is not in the event.
      expect(JSON.stringify(event)).not.toContain(SECRET);
    }), { numRuns: 2000 });
  });

  test('a status write (refreshed, webhook_applied) whose status equals the one before is no event', () => {
    fc.assert(fc.property(record, fc.constantFrom('refreshed', 'webhook_applied'), fc.constantFrom(...CONNECTION_STATUSES), (input, action, status) => {
      const unchanged: AuditRecord = {
        ...input, action, connection_id: input.connection_id ?? 'conn-1',
        subject: { entity: null, provider_id: 'gusto', company_id: null, ...input.subject, status },
        // Not an initial sync: that webhook writes no status.
        details: { ...Object.fromEntries(Object.entries(input.details ?? {}).filter(([key]) => key !== 'initial_sync')), previous_status: status },
      };
      expect(toConnectionEvent(unchanged)).toBeNull();
    }), { numRuns: 500 });
  });

  test('no event without a subject or without a connection', () => {
    fc.assert(fc.property(record, (input) => {
      expect(toConnectionEvent({ ...input, subject: undefined })).toBeNull();
      expect(toConnectionEvent({ ...input, connection_id: null })).toBeNull();
    }), { numRuns: 500 });
  });
});
