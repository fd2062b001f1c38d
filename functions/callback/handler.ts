// The authorization callback. GET /connect/callback: the employer's browser arrives from Finch
// (redirect flow, no JWT) and is sent on to return_to. POST /connect/callback: the frontend posts
// the code of an embedded session (JWT). GET /connect/result: the built-in result page.
import { makeNow } from '#adapters/container.js';
import { handleCallback } from '#core/callback.js';
import { CallbackFailed, InvalidState } from '#core/errors.js';
import { isTransientFault } from '#core/retry.js';
import { app, httpRoute } from '#http/app.js';
import { json, logger, routeByKey } from '#http/stack.js';
import { PAGE_HEADERS, errorPage, resultPage, resultParams } from './result-page.js';
import { EmbeddedCallbackBody, RedirectCallbackQuery } from './schema.js';

// A callback fetches the client credentials before it claims the state, and encrypts the token it
// gets: both clients are made during init.
makeNow(app.clients.secretsManager, app.clients.kms);

const redirectCallback = httpRoute({ auth: 'none' }, async ({ event }) => {
  const query = RedirectCallbackQuery().safeParse(event.queryStringParameters ?? {});
  if (!query.success || !query.data.state) return errorPage('invalid_state');
  try {
    const { session, result } = await handleCallback(app.deps, {
      flow: 'redirect', state: query.data.state, code: query.data.code, error: query.data.error,
    });
    const params = resultParams(result);
    // Only a session we stored holds a trusted return_to.
    const target = session.return_to ? new URL(session.return_to) : new URL('./result', app.config.CALLBACK_URL);
    for (const [key, value] of params) target.searchParams.set(key, value);
    return { statusCode: 302, headers: { location: target.href, ...PAGE_HEADERS }, body: '' };
  } catch (error) {
    if (error instanceof InvalidState) return errorPage('invalid_state');
    // The employer's browser is on this page: answer the result page, never a JSON error. Nothing
    // was exchanged before a store fault here, so repeating the callback is safe.
    logger.error('redirect callback failed', { error_name: (error as Error)?.name });
    return errorPage(isTransientFault(error) ? 'store_unavailable' : 'internal_error');
  }
});

const embeddedCallback = httpRoute({ auth: 'jwt', body: EmbeddedCallbackBody }, async ({ body, caller }) => {
  const { result } = await handleCallback(app.deps, {
    flow: 'embedded', state: body.state, code: body.code, customer_id: caller.customer_id,
  });
  if (result.status === 'error') throw new CallbackFailed(result.error);
  const { status: _status, ...connection } = result;
  return json(200, { ...connection, status: 'connected' });
});

// Anyone can link here with any query: resultPage shows only known error codes and ids of the
// connection-id pattern (not cut to length first, so a long text cannot be trimmed into one).
const resultRoute = httpRoute({ auth: 'none' }, async ({ event }) => {
  const params = new URLSearchParams();
  for (const key of ['status', 'connection_id', 'reauthenticated', 'error']) {
    const value = event.queryStringParameters?.[key];
    if (value !== undefined) params.set(key, value);
  }
  return resultPage(200, params);
});

export const handler = routeByKey({
  'GET /connect/callback': redirectCallback,
  'POST /connect/callback': embeddedCallback,
  'GET /connect/result': resultRoute,
});
