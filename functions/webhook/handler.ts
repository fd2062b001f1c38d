// POST /webhooks/finch — Finch's signed webhooks (no JWT). The signature is checked on the raw
// body before anything is parsed; 200 on success and on a duplicate, 401 on a bad signature.
import { makeNow } from '#adapters/container.js';
import { handleWebhook } from '#core/webhooks.js';
import { app, httpRoute } from '#http/app.js';
import { json } from '#http/stack.js';

// Every signature is checked with the webhook secret, one of the client credentials: their client
// is made during init. The KMS client waits for an event that needs the token (account.updated).
makeNow(app.clients.secretsManager);

export const handler = httpRoute({ auth: 'none' }, async ({ event, rawBody }) => {
  const outcome = await handleWebhook(app.deps, rawBody, event.headers ?? {});
  return json(200, { received: true, outcome });
});
