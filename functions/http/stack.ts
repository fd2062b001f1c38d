// The one middy stack every HTTP handler uses: the origin check behind the WAF, body guard (size,
// content type, JSON), zod validation with field-level details, the caller from the JWT authorizer
// context, and errors answered through the table of errors.ts in the error shape (docs/ARCHITECTURE.md).
// 5xx bodies are a fixed text and a request id, never an exception.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { serviceLogger } from '#adapters/log.js';
import { metrics } from '#adapters/metrics.js';
import { InvalidRequest, WebhookDeferred } from '#core/errors.js';
import { serviceOf } from '#core/metrics.js';
import { isTransientFault } from '#core/retry.js';
import type { Caller } from '#core/deps.js';
import * as z from '#core/zod.js';
import { type CallerSettings, resolveCaller } from './caller.js';
import {
  INTERNAL_ANSWER, PayloadTooLarge, RouteNotFound, TRANSIENT_ANSWER, UnsupportedMediaType, answerOf, type ErrorAnswer,
} from './errors.js';
import { originCheck } from './origin-verify.js';

/** Request logging stays off: a whole event carries codes, states and bearer tokens. */
export const logger = serviceLogger();

export const MAX_BODY_BYTES = 16 * 1024;

/** Behind the WAF (ORIGIN_VERIFY set): only requests CloudFront forwarded. Read once, at cold start. */
const checkOrigin = originCheck(process.env);

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] | null } } };
};
export type HttpResult = APIGatewayProxyStructuredResultV2;

interface RequestBase<B, Q> {
  event: HttpEvent;
  body: B;
  query: Q;
  requestId: string;
  context: Context;
  /** The raw body as sent (the webhook verifies its signature over these bytes). */
  rawBody: string;
}

/** A route behind API Gateway's JWT authorizer: whom the request acts for. */
export interface JwtRequest<B, Q> extends RequestBase<B, Q> {
  caller: Caller;
}

/** A public route (the redirect callback, the result page, the webhook): there is no caller. */
export interface PublicRequest<B, Q> extends RequestBase<B, Q> {
  caller?: never;
}

type Schema<T> = z.ZodMiniType<T>;
/**
 * A schema, or what makes it (`once(() => …)`) at its route's first request: for the routes of a
 * function with several, since its first request takes one of them.
 */
type RouteSchema<T> = Schema<T> | (() => Schema<T>);
type Handle<R> = (request: R) => Promise<HttpResult>;

interface RouteShape<B, Q> {
  body?: RouteSchema<B>;
  query?: RouteSchema<Q>;
  /** Content types the body may have (default JSON). */
  contentTypes?: string[];
}

/** Must match the route's `auth` in lib/routes.ts: it decides whether the handler gets a caller. */
export interface JwtRoute<B, Q> extends RouteShape<B, Q> { auth: 'jwt' }
export interface PublicRoute<B, Q> extends RouteShape<B, Q> { auth: 'none' }
export type RouteOptions<B, Q> = JwtRoute<B, Q> | PublicRoute<B, Q>;

export type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/** Builds a handler; the request's type follows `auth` (a caller on JWT routes, none on public ones). */
export interface HttpRouteBuilder {
  <B = undefined, Q = undefined>(options: JwtRoute<B, Q>, handle: Handle<JwtRequest<B, Q>>): HttpHandler;
  <B = undefined, Q = undefined>(options: PublicRoute<B, Q>, handle: Handle<PublicRequest<B, Q>>): HttpHandler;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function errorBody(code: string, message: string, requestId: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message, request_id: requestId, ...extra } };
}

/**
 * The route builder of one container (functions/http/app.ts, data-app.ts): the JWT claim names and
 * admin settings are bound here once, at cold start, so no route can read the caller with others.
 */
export function httpRoutes(callerSettings: CallerSettings): HttpRouteBuilder {
  function httpRoute<B, Q>(options: JwtRoute<B, Q>, handle: Handle<JwtRequest<B, Q>>): HttpHandler;
  function httpRoute<B, Q>(options: PublicRoute<B, Q>, handle: Handle<PublicRequest<B, Q>>): HttpHandler;
  function httpRoute<B, Q>(options: RouteOptions<B, Q>, handle: Handle<JwtRequest<B, Q>> | Handle<PublicRequest<B, Q>>): HttpHandler {
    // The overloads pair each `auth` with its handler's type.
    if (options.auth === 'none') return middyRoute(options, handle as Handle<PublicRequest<B, Q>>);
    const handleJwt = handle as Handle<JwtRequest<B, Q>>;
    return middyRoute(options, (request, requested) =>
      handleJwt({ ...request, caller: resolveCaller(request.event.requestContext.authorizer?.jwt, requested, callerSettings) }));
  }
  return httpRoute;
}

/**
 * One Lambda, several routes: API Gateway's route key picks the operation. A key not in the table
 * (a route added to lib/routes.ts but not here, a hand-made event) is 404 `not_found`, never another
 * route's operation; a Map, so `toString` or `__proto__` are no keys either.
 */
export function routeByKey(routes: Record<string, HttpHandler>): HttpHandler {
  const table = new Map(Object.entries(routes));
  const unknown = middyRoute({}, async () => { throw new RouteNotFound(); });
  return (event, context) => (table.get(event.routeKey) ?? unknown)(event, context);
}

function middyRoute<B, Q>(
  options: RouteShape<B, Q>,
  handle: (request: RequestBase<B, Q>, requestedCustomer: string | undefined) => Promise<HttpResult>,
): HttpHandler {
  return middy<HttpEvent, HttpResult, Error, Context>()
    // Registered before everything, so it runs after everything: the request's business metrics
    // (functions/core/metrics.ts, the error answer's included) written as EMF lines, once.
    .use({ after: flushMetrics, onError: flushMetrics })
    // Registered first, so its after/onError run last: the request's keys are dropped only once
    // the error line below is written. The event is never logged, whatever
    // POWERTOOLS_LOGGER_LOG_EVENT says: it carries codes, states and bearer tokens.
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use({
      before: (request) => {
        logger.appendKeys({ request_id: requestIdOf(request.event, request.context), route: request.event.routeKey });
      },
      onError: async (request) => {
        request.response = toErrorResponse(request.error, requestIdOf(request.event, request.context));
      },
    })
    .handler(async (event, context) => {
      const requestId = requestIdOf(event, context);
      // First: a request that skipped CloudFront (and its WAF) gets nothing read or parsed.
      checkOrigin?.(event.headers);
      const rawBody = readBody(event);
      const body = options.body ? validate(schemaOf(options.body), parseBody(event, rawBody, options.contentTypes), 'body') : undefined as B;
      const query = options.query ? validate(schemaOf(options.query), event.queryStringParameters ?? {}, 'query') : undefined as Q;
      const requested = (body as { customer_id?: string } | undefined)?.customer_id
        ?? (query as { customer_id?: string } | undefined)?.customer_id;
      return handle({ event, body, query, requestId, rawBody, context }, requested);
    });
}

/** The request's id and route ride along as metadata, as on its log lines. */
const flushMetrics = (request: { event: HttpEvent; context: Context }) =>
  metrics.flush({ request_id: requestIdOf(request.event, request.context), route: request.event?.routeKey ?? 'unknown' });

const schemaOf = <T>(schema: RouteSchema<T>): Schema<T> => (typeof schema === 'function' ? schema() : schema);

function requestIdOf(event: HttpEvent, context: Context | undefined): string {
  return event?.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
}

function readBody(event: HttpEvent): string {
  if (event.body === undefined || event.body === null) return '';
  // Checked on the encoded size first so a huge base64 body is never decoded.
  if (event.body.length > MAX_BODY_BYTES * 2) throw tooLarge();
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) throw tooLarge();
  return raw;
}

function tooLarge() {
  return new PayloadTooLarge(MAX_BODY_BYTES);
}

function parseBody(event: HttpEvent, raw: string, contentTypes = ['application/json']): unknown {
  const contentType = (event.headers?.['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (raw === '' && !contentType) return {};
  if (!contentTypes.includes(contentType)) {
    throw new UnsupportedMediaType(contentTypes.join(' or '));
  }
  if (contentType === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw);
  } catch {
    throw new InvalidRequest('The body is not valid JSON.', [{ path: '', message: 'malformed JSON' }]);
  }
}

export function validate<T>(schema: Schema<T>, input: unknown, where: 'body' | 'query' | 'path'): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({
    path: [...issue.path].map(String).join('.'),
    // zod's messages name expectations, never the offending value, so nothing sent is echoed back.
    message: issue.message,
  }));
  throw new InvalidRequest(`The request ${where} is invalid.`, details);
}

function toErrorResponse(error: unknown, requestId: string): HttpResult {
  const answer = answerOf(error);
  if (answer) {
    // A deferred webhook is the plan working (Finch delivers it again), not a failure: WARN.
    if (error instanceof WebhookDeferred) logger.warn('webhook deferred', { error_code: answer.code, status: answer.status, reason: error.reason });
    else if (answer.status >= 500) logger.error('request failed', { error_code: answer.code, status: answer.status });
    return answered(answer, requestId);
  }
  // The store, the key service or the secrets service stayed unavailable through the retries.
  if (isTransientFault(error)) {
    metrics.add('ServiceUnavailable', { Service: serviceOf(error) });
    logger.error('a backing service is unavailable', { error_name: error.name, cause_name: (error.cause as Error | undefined)?.name });
    return answered(TRANSIENT_ANSWER, requestId);
  }
  // Unknown errors: the name and stack frames only; an SDK's message may quote what it sent.
  const err = error instanceof Error ? error : new Error(String(error));
  logger.error('unhandled error', { error_name: err.name, frames: err.stack?.split('\n').slice(1, 8).map((line) => line.trim()) });
  return answered(INTERNAL_ANSWER, requestId);
}

function answered(answer: ErrorAnswer, requestId: string): HttpResult {
  return json(answer.status, errorBody(answer.code, answer.message, requestId, answer.body), answer.headers);
}
