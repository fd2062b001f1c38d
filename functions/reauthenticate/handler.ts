// POST /connect/sessions/reauthenticate — a Connect session that renews the token of a connection
// the caller's customer owns, keeping its connection_id.
import { makeNow } from '#adapters/container.js';
import { createReauthSession } from '#core/sessions.js';
import { httpRoute, sessionApp } from '#http/session-app.js';
import { json } from '#http/stack.js';
import { ReauthenticateBody } from './schema.js';

// Every session starts at Finch with the client credentials: their client is made during init.
makeNow(sessionApp.clients.secretsManager);

export const handler = httpRoute({ auth: 'jwt', body: ReauthenticateBody }, async ({ body, caller }) => {
  const { customer_id: _redundant, ...input } = body;
  return json(201, await createReauthSession(sessionApp.deps, caller, input));
});
