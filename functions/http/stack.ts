// The one middy stack every HTTP handler uses: the origin check behind the WAF, body guard (size,
// content type, JSON), zod validation with field-level details, the caller from the JWT authorizer
// context, and typed errors mapped to DESIGN's error shape. 5xx bodies are a fixed text and a
// request id, never an exception.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ApiError, InvalidRequest } from '#core/errors.js';
import { isTransientFault } from '#core/retry.js';
import type { Caller } from '#core/deps.js';
import * as z from '#core/zod.js';
import { type CallerSettings, resolveCaller } from './caller.js';
import { originCheck } from './origin-verify.js';

/** Request logging stays off: a whole event carries codes, states and bearer tokens. */
export const logger = new Logger({ serviceName: 'finch-connections' });

export const MAX_BODY_BYTES = 16 * 1024;

/** Behind the WAF (ORIGIN_VERIFY set): only requests CloudFront forwarded. Read once, at cold start. */
const checkOrigin = originCheck(process.env);

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] | null } } };
};
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface Request<B, Q> {
  event: HttpEvent;
  body: B;
  query: Q;
  /** Present when the route takes a JWT. */
  caller: Caller;
  requestId: string;
  context: Context;
  /** The raw body as sent (the webhook verifies its signature over these bytes). */
  rawBody: string;
}

type Schema<T> = z.ZodMiniType<T>;

export interface RouteOptions<B, Q> {
  auth: 'jwt' | 'none';
  body?: Schema<B>;
  query?: Schema<Q>;
  /** Content types the body may have (default JSON). */
  contentTypes?: string[];
  callerSettings?: CallerSettings;
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

export function httpRoute<B = undefined, Q = undefined>(
  options: RouteOptions<B, Q>,
  handle: (request: Request<B, Q>) => Promise<HttpResult>,
) {
  return middy<HttpEvent, HttpResult, Error, Context>()
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
      const body = options.body ? validate(options.body, parseBody(event, rawBody, options.contentTypes), 'body') : undefined as B;
      const query = options.query ? validate(options.query, event.queryStringParameters ?? {}, 'query') : undefined as Q;
      const requested = (body as { customer_id?: string } | undefined)?.customer_id
        ?? (query as { customer_id?: string } | undefined)?.customer_id;
      const caller = options.auth === 'jwt'
        ? resolveCaller(event.requestContext.authorizer?.jwt, requested, options.callerSettings)
        : undefined as unknown as Caller;
      return handle({ event, body, query, caller, requestId, rawBody, context });
    });
}

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
  return new ApiError(413, 'payload_too_large', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
}

function parseBody(event: HttpEvent, raw: string, contentTypes = ['application/json']): unknown {
  const contentType = (event.headers?.['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (raw === '' && !contentType) return {};
  if (!contentTypes.includes(contentType)) {
    throw new ApiError(415, 'unsupported_media_type', `The body must be ${contentTypes.join(' or ')}.`);
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
  if (error instanceof ApiError) {
    if (error.status >= 500) logger.error('request failed', { error_code: error.code, status: error.status });
    const extra: Record<string, unknown> = { ...(error.extra.body ?? {}) };
    if (error.extra.details) extra.details = error.extra.details;
    return json(error.status, errorBody(error.code, error.message, requestId, extra), error.extra.headers);
  }
  // The store, the key service or the secrets service stayed unavailable through the retries:
  // say so, and when to retry.
  if (isTransientFault(error)) {
    logger.error('a backing service is unavailable', { error_name: error.name, cause_name: (error.cause as Error | undefined)?.name });
    return json(503, errorBody('service_unavailable', 'A backing service is briefly unavailable; retry shortly.', requestId), { 'retry-after': '1' });
  }
  // Unknown errors: the name and stack frames only; an SDK's message may quote what it sent.
  const err = error instanceof Error ? error : new Error(String(error));
  logger.error('unhandled error', { error_name: err.name, frames: err.stack?.split('\n').slice(1, 8).map((line) => line.trim()) });
  return json(500, errorBody('internal_error', 'Internal error.', requestId));
}
