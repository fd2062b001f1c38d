// Turns what a handler returned into the HTTP answer API Gateway (payload format 2.0) would send.
import type { OutgoingHttpHeaders } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

export function jsonAnswer(status: number, body: unknown, headers: OutgoingHttpHeaders = {}): HttpAnswer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) };
}

/** API Gateway's own error answers, the same bodies a client sees in AWS. */
export const gatewayErrors = {
  badRequest: () => jsonAnswer(400, { message: 'Bad Request' }),
  notFound: () => jsonAnswer(404, { message: 'Not Found' }),
  unauthorized: (reason: string) => jsonAnswer(401, { message: 'Unauthorized' }, {
    'www-authenticate': `Bearer error="invalid_token" error_description="${reason.replace(/"/g, "'")}"`,
  }),
  internal: () => jsonAnswer(500, { message: 'Internal Server Error' }),
  unavailable: () => jsonAnswer(503, { message: 'Service Unavailable' }),
  tooLarge: () => jsonAnswer(413, { message: 'Request Entity Too Large' }),
};

/**
 * With payload format 2.0 a result with a `statusCode` is taken as the response; anything else
 * (an object without one, a string) is answered as a 200 JSON body.
 */
export function fromHandlerResult(result: unknown): HttpAnswer {
  if (result === undefined || result === null) return { status: 200, headers: {}, body: Buffer.alloc(0) };
  if (typeof result !== 'object' || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  const structured = result as {
    statusCode: unknown; headers?: Record<string, unknown>; body?: unknown; isBase64Encoded?: boolean; cookies?: unknown;
  };
  const status = Number(structured.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error(`the handler returned an invalid statusCode: ${String(structured.statusCode)}`);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
  }
  if (Array.isArray(structured.cookies) && structured.cookies.length) headers['set-cookie'] = structured.cookies.map(String);
  const rawBody = structured.body === undefined || structured.body === null ? '' : String(structured.body);
  const body = structured.isBase64Encoded ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8');
  return { status, headers, body };
}
