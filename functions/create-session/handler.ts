// POST /connect/sessions — starts Finch Connect for the caller's customer (redirect or embedded).
import { createConnectSession } from '#core/sessions.js';
import { app, callerSettings } from '#http/app.js';
import { CreateSessionBody } from '#http/schemas.js';
import { httpRoute, json } from '#http/stack.js';

export const handler = httpRoute({ auth: 'jwt', body: CreateSessionBody, callerSettings }, async ({ body, caller }) => {
  const { customer_id: _redundant, ...input } = body;
  const started = await createConnectSession(app.deps, caller, input);
  // connect_url carries the live state: answered to the caller, never logged.
  return json(201, started);
});
