// Statuses Finch documents that the SDK's ConnectionStatusType misses (`disconnected` on introspect
// and per entity; its automated jobs' `reauth_error`, `permissions_error`), and values nobody
// documents yet: what each means for our connection (functions/core/finch-status.ts), how the
// gateway reads /introspect's overall, per-method and per-entity statuses
// (functions/adapters/finch-gateway.ts), and that a refresh and a webhook store only a status of
// ours and keep the stored one for a value they do not know.
import type Finch from '@tryfinch/finch-api';
import { introspectedStatuses } from '#adapters/finch-responses.js';
import { refreshConnection } from '#core/connections.js';
import { FINCH_STATUS_MEANINGS, connectionStatusOf } from '#core/finch-status.js';
import { CONNECTION_STATUSES, type Connection, type ConnectionStatus } from '#core/model.js';
import { FakeFinch, fakeDeps } from '../../support/fakes.js';
import type { MemoryTable } from '../../support/memory-stores.js';

// Compile-time: every value of the SDK's union and of its per-entity status is in the table.
type SdkStatus = Finch.Introspection['connection_status']['status'] | Finch.Account.Introspection.Entity['status'] | Finch.Jobs.AutomatedAsyncJob['status'];
const sdkValues: Record<Exclude<SdkStatus, 'in_progress' | 'complete' | 'error'>, true> = {
  pending: true, processing: true, connected: true, error_no_account_setup: true, error_permissions: true, reauth: true,
  disconnected: true, reauth_error: true, permissions_error: true,
};

describe('what each status Finch documents means here (FINCH_STATUS_MEANINGS)', () => {
  test.each([
    ['pending', 'pending'], ['processing', 'processing'], ['connected', 'connected'],
    ['error_no_account_setup', 'error_no_account_setup'], ['error_permissions', 'error_permissions'], ['reauth', 'reauth'],
    // Finch lost its access while the token still works: the employer connects again (Re-authentication Flow).
    ['disconnected', 'reauth'],
    // Automated jobs ("Retrieve an automated job"): a sync that failed for want of reauthentication or permissions.
    ['reauth_error', 'reauth'], ['permissions_error', 'error_permissions'],
  ] as Array<[string, ConnectionStatus]>)('Finch\'s %s is our %s', (reported, ours) => {
    expect(connectionStatusOf(reported)).toBe(ours);
  });

  test('every value of the SDK\'s unions (the jobs\' progress values aside) has a meaning, and no meaning is a status we do not have', () => {
    for (const value of Object.keys(sdkValues)) expect(connectionStatusOf(value)).not.toBeNull();
    for (const ours of Object.values(FINCH_STATUS_MEANINGS)) expect(CONNECTION_STATUSES).toContain(ours);
  });

  test('no Finch word is ever our ended status (a tombstone is written by a DELETE or a refused token only)', () => {
    expect(Object.values(FINCH_STATUS_MEANINGS)).not.toContain('disconnected');
    expect(Object.values(FINCH_STATUS_MEANINGS)).not.toContain('disconnecting');
  });

  test.each([
    ['a value Finch adds later', 'suspended'], ['our own word, not Finch\'s', 'disconnecting'], ['a job\'s progress', 'in_progress'],
    ['another case', 'Connected'], ['empty', ''], ['a number', 3], ['null', null], ['nothing', undefined], ['an object', { status: 'connected' }],
    ['a prototype key', '__proto__'], ['a prototype key', 'toString'],
  ])('%s (%p) means nothing: null', (_what, reported) => {
    expect(connectionStatusOf(reported)).toBeNull();
  });
});

describe('introspectedStatuses: /introspect read defensively (overall, per authentication method, per entity)', () => {
  const entity = (id: string, status: unknown) => ({ id: `ent-${id}`, name: null, source_id: null, status });

  test('documented values are mapped at every level, Finch\'s own value kept for the log', () => {
    const read = introspectedStatuses({
      connection_status: { status: 'disconnected', message: 'Finch lost access.' },
      authentication_methods: [
        { type: 'credential', connection_status: { status: 'reauth_error' } },
        { type: 'assisted', connection_status: { status: 'permissions_error' } },
      ],
      entities: [entity('a', 'connected'), entity('b', 'disconnected')],
    });
    expect(read).toEqual({
      status: 'reauth', finch_status: 'disconnected', status_message: 'Finch lost access.',
      authentication_methods: ['credential', 'assisted'],
      authentication_method_statuses: [{ type: 'credential', status: 'reauth' }, { type: 'assisted', status: 'error_permissions' }],
      entity_statuses: [{ entity_id: 'ent-a', status: 'connected' }, { entity_id: 'ent-b', status: 'reauth' }],
    });
  });

  test.each([
    ['an unknown overall status', { connection_status: { status: 'frozen' } }, { status: null, finch_status: 'frozen' }],
    ['a status of another type', { connection_status: { status: 7 } }, { status: null, finch_status: null }],
    ['no connection_status', {}, { status: null, finch_status: null, status_message: null }],
    ['connection_status null', { connection_status: null }, { status: null }],
    ['connection_status an array', { connection_status: ['connected'] }, { status: null }],
    ['a message that is not text', { connection_status: { status: 'connected', message: { html: true } } }, { status: 'connected', status_message: null }],
    ['a value that is no word, withheld from the log', { connection_status: { status: 'x\ny <script>' } }, { status: null, finch_status: null }],
  ])('%s: null, never a throw', (_what, found, expected) => {
    expect(introspectedStatuses(found)).toMatchObject(expected);
  });

  test('odd methods and entities are left out or read as unknown, never a throw', () => {
    const read = introspectedStatuses({
      connection_status: { status: 'connected' },
      authentication_methods: [null, 'credential', { type: 7 }, { type: 'oauth' }, { type: 'api_token', connection_status: { status: 'new_thing' } }, { type: 'credential', connection_status: 'connected' }],
      entities: [null, { id: 'not an id!', status: 'connected' }, entity('c', 'something_new'), { status: 'connected' }],
    });
    expect(read.authentication_methods).toEqual(['oauth', 'api_token', 'credential']);
    expect(read.authentication_method_statuses).toEqual([{ type: 'oauth', status: null }, { type: 'api_token', status: null }, { type: 'credential', status: null }]);
    expect(read.entity_statuses).toEqual([{ entity_id: 'ent-c', status: null }]);
    expect(introspectedStatuses({ authentication_methods: { type: 'credential' }, entities: 'all' })).toMatchObject({ authentication_methods: [], entity_statuses: [] });
    expect(introspectedStatuses(null)).toMatchObject({ status: null, authentication_methods: [] });
  });
});

describe('a refresh stores only a status of ours', () => {
  const caller = { customer_id: 'acme', admin: false, actor: 'user-1' };

  function seed(store: MemoryTable, status: ConnectionStatus) {
    const connection: Connection = {
      connection_id: 'conn-1', customer_id: 'acme', entity: null, finch_customer_id: 'acme', provider_id: 'gusto',
      company_name: null, company_id: null, entity_ids: [], connection_type: null, manual: null, last_successful_sync: null, products: ['company'], status, status_message: null,
      authentication_methods: [], connected_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
      last_synced_at: null, initial_sync_completed_at: { org: null, payroll: null }, token_version: 1,
    };
    store.connections.set('acme/conn-1', { ...connection, token: { ciphertext: 'enc(acme/conn-1):tok-1', token_issued_at: 1 } });
    store.owners.set('conn-1', 'acme');
  }

  test.each([
    ['Finch\'s disconnected (the token still works)', 'reauth', 'connected', 'reauth'],
    ['an automated job\'s reauth_error', 'reauth', 'connected', 'reauth'],
    ['a status nobody documents yet', null, 'processing', 'processing'],
    ['a status nobody documents yet, on a connected connection', null, 'connected', 'connected'],
  ] as Array<[string, ConnectionStatus | null, ConnectionStatus, ConnectionStatus]>)('%s (read as %s) on a %s connection: %s after the refresh', async (_what, mapped, before, after) => {
    const finch = new FakeFinch();
    finch.introspection = { status: mapped, finch_status: mapped === null ? 'frozen' : 'disconnected', status_message: 'Finch says so.' };
    const { deps, store } = fakeDeps({ finch });
    seed(store, before);
    const refreshed = await refreshConnection(deps, caller, 'conn-1');
    expect(refreshed.status).toBe(after);
    const kept = store.connections.get('acme/conn-1')!;
    expect(kept.status).toBe(after);
    // Never ended by Finch's word through a refresh: the token is kept.
    expect(kept.token).not.toBeNull();
  });
});
