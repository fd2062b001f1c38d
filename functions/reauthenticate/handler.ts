// POST /connect/sessions/reauthenticate — a Connect session that renews the token of a connection
// the caller's customer owns, keeping its connection_id.
import { createReauthSession } from '#core/sessions.js';
import { app, httpRoute } from '#http/app.js';
import { json } from '#http/stack.js';
import { ReauthenticateBody } from './schema.js';

export const handler = httpRoute({ auth: 'jwt', body: ReauthenticateBody }, async ({ body, caller }) => {
  const { customer_id: _redundant, ...input } = body;
  return json(201, await createReauthSession(app.deps, caller, input));
});
