// The built-in result page, shown when a session has no return_to or its state cannot be trusted.
// It is on the API's origin and anyone can link to it, so it shows only what the callback could
// have sent: a known error code or an id of the connection-id pattern; anything else is a generic
// error. The page loads nothing and leaks no referrer.
import { CONNECTION_ID_PATTERN } from '#core/ids.js';
import { CALLBACK_ERROR_CODES, type CallbackErrorCode, type CallbackResult } from '#core/model.js';
import { CALLBACK_ANSWERS } from '#http/errors.js';
import type { HttpResult } from '#http/stack.js';

export const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
};

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The redirect's query: `status=connected&connection_id=…&reauthenticated=…` or `status=error&error=…`. */
export function resultParams(result: CallbackResult): URLSearchParams {
  return result.status === 'connected'
    ? new URLSearchParams({ status: 'connected', connection_id: result.connection_id, reauthenticated: String(result.reauthenticated) })
    : new URLSearchParams({ status: 'error', error: result.error });
}

const KNOWN_ERRORS: ReadonlySet<string> = new Set(CALLBACK_ERROR_CODES);
const isKnownError = (code: string | null): code is CallbackErrorCode => code !== null && KNOWN_ERRORS.has(code);

export function resultPage(statusCode: number, params: URLSearchParams): HttpResult {
  const connectionId = params.get('connection_id');
  const error = params.get('error');
  const connected = params.get('status') === 'connected' && connectionId !== null && CONNECTION_ID_PATTERN.test(connectionId);
  const heading = connected ? 'Connected' : 'The connection was not completed';
  const detail = connected
    ? `Connection ${escape(connectionId)}${params.get('reauthenticated') === 'true' ? ' was reauthenticated' : ' is ready'}. You can close this window.`
    : isKnownError(error)
      ? `Error: ${error}. Start again from the application.`
      : 'Something went wrong. Start again from the application.';
  return {
    statusCode,
    headers: { 'content-type': 'text/html; charset=utf-8', ...PAGE_HEADERS },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${heading}</title>`
      + '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
      + `<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem">`
      + `<h1 id="result" data-status="${connected ? 'connected' : 'error'}">${heading}</h1><p>${detail}</p></body></html>`,
  };
}

/** The page for a callback that failed with `code`, answered with that code's status (functions/http/errors.ts). */
export function errorPage(code: CallbackErrorCode): HttpResult {
  return resultPage(CALLBACK_ANSWERS[code].status, new URLSearchParams({ status: 'error', error: code }));
}
