// Builds the API Gateway HTTP API (payload format 2.0) event and the Lambda context a handler gets
// in AWS, from a Node request.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { HttpEvent } from '#http/stack.js';
import { type RouteSpec, routeKey } from '../../lib/routes.js';
import type { JwtAuthorizerContext } from './jwt.js';

export interface IncomingRequest {
  method: string;
  /** Path and query as sent, still percent-encoded. */
  url: string;
  /** Node's `headersDistinct`: names lowercased, every value kept. */
  headers: Record<string, string[] | undefined>;
  body: Buffer;
  sourceIp: string;
  httpVersion: string;
}

export interface EventOptions {
  route: RouteSpec;
  /** The path percent-decoded: HTTP APIs hand `rawPath` (and `http.path`) to Lambda decoded. */
  decodedPath: string;
  pathParameters: Record<string, string> | undefined;
  jwt?: JwtAuthorizerContext;
  requestId: string;
  now?: Date;
  port: number;
}

// API Gateway passes these bodies as text; anything else arrives base64-encoded (form posts too).
const TEXT_TYPES = [/^text\//, /^application\/(.+\+)?json$/, /^application\/(.+\+)?xml$/, /^application\/javascript$/];

export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_API_ID = 'local';

export function buildEvent(request: IncomingRequest, options: EventOptions): HttpEvent {
  const now = options.now ?? new Date();
  const queryAt = request.url.indexOf('?');
  const rawPath = options.decodedPath;
  const rawQueryString = queryAt < 0 ? '' : request.url.slice(queryAt + 1);

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(request.headers)) {
    if (!values) continue;
    // v2 events carry cookies in their own field, not as a header.
    if (name === 'cookie') cookies = values.flatMap((value) => value.split(/;\s*/)).filter(Boolean);
    else headers[name] = values.join(',');
  }
  const host = headers.host ?? `127.0.0.1:${options.port}`;
  headers['x-forwarded-for'] = request.sourceIp;
  headers['x-forwarded-port'] = String(options.port);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  const queryStringParameters = parseQuery(rawQueryString);
  const domainName = host.replace(/:\d+$/, '');
  const event: HttpEvent = {
    version: '2.0',
    routeKey: routeKey(options.route),
    rawPath,
    rawQueryString,
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      ...(options.jwt ? { authorizer: { jwt: options.jwt } } : {}),
      domainName,
      domainPrefix: domainName.split('.')[0],
      http: {
        method: request.method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: options.requestId,
      routeKey: routeKey(options.route),
      stage: '$default',
      time: formatTime(now),
      timeEpoch: now.getTime(),
    },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    isBase64Encoded: false,
  } as HttpEvent;
  if (request.body.length > 0) {
    const contentType = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const text = TEXT_TYPES.some((pattern) => pattern.test(contentType));
    event.body = text ? request.body.toString('utf8') : request.body.toString('base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

/** Repeated keys are joined with commas, as API Gateway does. */
function parseQuery(raw: string): Record<string, string> | undefined {
  if (!raw) return undefined;
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) params[key] = key in params ? `${params[key]},${value}` : value;
  return Object.keys(params).length ? params : undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** "12/Mar/2020:19:03:58 +0000", API Gateway's request time. */
function formatTime(date: Date): string {
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:`
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** API Gateway's request ids look like "JSomZiq7IAMEVgg=". */
export const newRequestId = () => randomBytes(10).toString('base64');

export interface ContextOptions {
  functionName: string;
  timeoutMs: number;
  memoryMb?: number;
}

export function buildContext(options: ContextOptions): Context {
  const deadline = Date.now() + options.timeoutMs;
  const awsRequestId = randomUUID();
  const unsupported = () => { throw new Error('callback-style completion is not supported: return a promise'); };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${LOCAL_ACCOUNT_ID}:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryMb ?? 256),
    awsRequestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
