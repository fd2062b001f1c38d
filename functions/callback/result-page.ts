// The built-in result page, shown when a session has no return_to or its state cannot be trusted.
// Everything shown is from a fixed list or escaped; the page loads nothing and leaks no referrer.
import type { CallbackResult } from '#core/model.js';
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

export function resultPage(statusCode: number, params: URLSearchParams): HttpResult {
  const connected = params.get('status') === 'connected';
  const heading = connected ? 'Connected' : 'The connection was not completed';
  const detail = connected
    ? `Connection ${escape(params.get('connection_id') ?? '')}${params.get('reauthenticated') === 'true' ? ' was reauthenticated' : ' is ready'}. You can close this window.`
    : `Error: ${escape(params.get('error') ?? 'unknown')}. Start again from the application.`;
  return {
    statusCode,
    headers: { 'content-type': 'text/html; charset=utf-8', ...PAGE_HEADERS },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${heading}</title>`
      + '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
      + `<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem">`
      + `<h1 id="result" data-status="${connected ? 'connected' : 'error'}">${heading}</h1><p>${detail}</p></body></html>`,
  };
}
