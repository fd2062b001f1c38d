// POST /webhooks/finch — Finch's signed webhooks (no JWT). The signature is checked on the raw
// body before anything is parsed; 200 on success and on a duplicate, 401 on a bad signature.
import { handleWebhook } from '#core/webhooks.js';
import { app, httpRoute } from '#http/app.js';
import { json } from '#http/stack.js';

export const handler = httpRoute({ auth: 'none' }, async ({ event, rawBody }) => {
  const outcome = await handleWebhook(app.deps, rawBody, event.headers ?? {});
  return json(200, { received: true, outcome });
});
