// POST /connect/sessions — starts Finch Connect for the caller's customer (redirect or embedded).
// An optional Idempotency-Key makes a retried request answer the first session, scoped to the
// caller (customer, admin or customer token, subject, client).
import { makeNow } from '#adapters/container.js';
import { IdempotentRequests } from '#adapters/idempotency.js';
import { InvalidRequest } from '#core/errors.js';
import { once } from '#core/once.js';
import { checkConnectSessionInput, createConnectSession } from '#core/sessions.js';
import { app, httpRoute } from '#http/app.js';
import { json } from '#http/stack.js';
import { CreateSessionBody, IDEMPOTENCY_KEY } from './schema.js';

// Every session starts at Finch with the client credentials: their client is made during init.
// The KMS client waits for a request with an Idempotency-Key (its record is sealed).
makeNow(app.clients.secretsManager);
// Built here, not in the shared container (no other function bundles Powertools idempotency), and
// on the first request with a key: a session without one never needs it.
const idempotency = once(() => new IdempotentRequests(app.clients.dynamo, app.config.TABLE_NAME, app.contextCipher));

export const handler = httpRoute({ auth: 'jwt', body: CreateSessionBody }, async ({ event, body, caller, context }) => {
  const { customer_id: _redundant, ...input } = body;
  const key = event.headers?.['idempotency-key'];
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new InvalidRequest('The Idempotency-Key header is invalid.', [{ path: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' }]);
  }
  const create = () => createConnectSession(app.deps, caller, input);
  // This caller's limits (the products ceiling) hold before a key is looked up or recorded.
  if (key !== undefined) checkConnectSessionInput(app.deps, caller, input);
  const started = key === undefined
    ? await create()
    : await idempotency().run({ caller, key, payload: input }, context, create);
  // connect_url carries the live state: answered to the caller, never logged.
  return json(201, started);
});
