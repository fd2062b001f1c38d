// GET|POST|DELETE /finch/{path+}: one allowlisted Finch data call for one of the caller's
// connections (header Finch-Connection-Id), the token added server-side. GET /directory: the
// caller's people across its connections, reconciled. The one Lambda that reads Finch data.
import { makeNow } from '#adapters/container.js';
import { DIRECTORY_RESERVE_MS, readDirectory } from '#core/directory.js';
import { InvalidRequest } from '#core/errors.js';
import { readDeadline } from '#core/finch-reads.js';
import type { FinchDataMethod } from '#core/ports/finch-data.js';
import { type ProxyDeps, proxyFinchCall } from '#core/proxy.js';
import { dataApp, httpRoute } from '#http/data-app.js';
import { hasScope } from '#http/caller.js';
import { statusOf } from '#http/errors.js';
import { type HttpEvent, json, routeByKey } from '#http/stack.js';
import { DirectoryQuery, ProxyBody, ProxyHeaders, ProxyQuery } from './schema.js';

// Every proxied call decrypts the connection's token: the KMS client is made during init.
makeNow(dataApp.clients.kms);

const deps: ProxyDeps = {
  ...dataApp.deps,
  finchData: dataApp.finchData,
  proxy: { writeRoutes: new Set(dataApp.config.FINCH_PROXY_WRITE_PATHS) },
  statusOf,
};

const proxy = httpRoute({ auth: 'jwt', query: ProxyQuery, body: ProxyBody }, async ({ event, body, caller, rawBody, context }) => {
  const headers = ProxyHeaders().safeParse(event.headers ?? {});
  if (!headers.success) {
    throw new InvalidRequest('The Finch-Connection-Id header must name one of your connections.',
      [{ path: 'headers.finch-connection-id', message: 'must be a connection id' }]);
  }
  const answer = await proxyFinchCall(deps, caller.customer_id, {
    method: event.requestContext.http.method as FinchDataMethod,
    rawPath: finchPath(event),
    rawQuery: event.rawQueryString ?? '',
    connectionId: headers.data['finch-connection-id'],
    body: rawBody === '' ? undefined : body,
    headers: event.headers ?? {},
    writeScope: hasScope(event.requestContext.authorizer?.jwt?.claims?.scope, event.requestContext.authorizer?.jwt?.scopes, dataApp.config.FINCH_PROXY_WRITE_SCOPE),
    // Cut before the Lambda or API Gateway would, to answer 504 with a body (functions/core/finch-reads.ts).
    deadline: readDeadline(Date.now(), context.getRemainingTimeInMillis()),
  });
  return json(answer.status, answer.body, answer.headers);
});

// The deadline follows the Lambda's own: whatever time is left, less what answering needs.
const directory = httpRoute({ auth: 'jwt', query: DirectoryQuery }, async ({ query, caller, context }) =>
  json(200, await readDirectory(deps, caller.customer_id, { limit: query.limit ?? 50, cursor: query.cursor },
    Date.now() + context.getRemainingTimeInMillis() - DIRECTORY_RESERVE_MS)));

/**
 * The Finch path from `rawPath` (a named stage prefixes it with itself). HTTP APIs deliver it
 * already percent-decoded once, REST APIs and function URLs still encoded: the core decodes each
 * segment once more and accepts only plain segments, so either form reaches nothing but an
 * allowlisted template (a `%2F` HTTP APIs turned into `/` is just a separator by then).
 */
function finchPath(event: HttpEvent): string {
  const stage = event.requestContext.stage;
  const raw = stage && stage !== '$default' && event.rawPath.startsWith(`/${stage}/`) ? event.rawPath.slice(stage.length + 1) : event.rawPath;
  return raw.startsWith('/finch/') ? raw.slice('/finch'.length) : '';
}

/** One Lambda serves the proxy and the directory; API Gateway's route key picks the operation. */
export const handler = routeByKey({
  'GET /finch/{path+}': proxy,
  'POST /finch/{path+}': proxy,
  'DELETE /finch/{path+}': proxy,
  'GET /directory': directory,
});
