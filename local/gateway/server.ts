// The local gateway: node:http on loopback, standing in for API Gateway's HTTP API. It serves
// exactly the routes of lib/routes.ts through the real handlers (in process), with payload 2.0
// events, the JWT authorizer's checks on `auth: 'jwt'` routes, and API Gateway's own answers for
// an unknown route (404), a refused token (401), a handler that throws (500) or times out (503).
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import type { HttpEvent } from '#http/stack.js';
import type { FunctionName, RouteSpec } from '../../lib/routes.js';
import { PortInUse } from '../ports.js';
import { type IncomingRequest, buildContext, buildEvent, newRequestId } from './event.js';
import type { Cors } from './cors.js';
import type { JwtAuthorizer } from './jwt.js';
import { type HttpAnswer, fromHandlerResult, gatewayErrors } from './response.js';
import { createRouter } from './router.js';

export type LambdaHandler = (event: HttpEvent, context: Context) => unknown;

/** Local-only routes tried before the API's (`/_local/*`, the demo page); undefined: not one of them. */
export type LocalRoutes = (request: IncomingRequest & { path: string }) => Promise<HttpAnswer | undefined>;

export interface GatewayOptions {
  /** 0: any free port. */
  port: number;
  host?: string;
  routes: readonly RouteSpec[];
  loadHandler: (name: FunctionName) => Promise<LambdaHandler>;
  authorizer: JwtAuthorizer;
  localRoutes?: LocalRoutes;
  /** API Gateway's integration timeout is 30 s at most. */
  timeoutMs?: number;
  /** Access log, one line a request: method, path without query, status, time. */
  log?: (line: string) => void;
  /** Named in the port-in-use error. */
  portVariable?: string;
  /** CORS as the deployed API configures it; none when unset. */
  cors?: Cors;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** HTTP API's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const host = options.host ?? '127.0.0.1';
  const router = createRouter(options.routes);
  let port = options.port;

  const answer = async (req: IncomingMessage): Promise<HttpAnswer & { routed?: string }> => {
    const body = await readBody(req);
    if (!body) return gatewayErrors.tooLarge();
    const request: IncomingRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      url: req.url ?? '/',
      headers: req.headersDistinct,
      body,
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      httpVersion: req.httpVersion,
    };
    const path = request.url.split('?')[0];
    const local = await options.localRoutes?.({ ...request, path });
    if (local) return local;

    const preflight = options.cors?.preflight(request.method, request.headers);
    if (preflight) return preflight;
    const corsHeaders = options.cors?.headersFor(request.headers) ?? {};
    const withCors = (reply: HttpAnswer): HttpAnswer => ({ ...reply, headers: { ...reply.headers, ...corsHeaders } });

    const decodedPath = decodePath(path);
    if (decodedPath === undefined) return withCors(gatewayErrors.badRequest());
    const match = router(request.method, decodedPath);
    if (!match) return withCors(gatewayErrors.notFound());
    let jwt;
    if (match.route.auth === 'jwt') {
      const authorization = await options.authorizer(req.headers.authorization);
      if (!authorization.ok) return withCors(gatewayErrors.unauthorized(authorization.reason));
      jwt = authorization.jwt;
    }
    const requestId = newRequestId();
    const event = buildEvent(request, { route: match.route, decodedPath, pathParameters: match.pathParameters, jwt, requestId, port });
    const timeoutMs = options.timeoutMs ?? 29_000;
    const context = buildContext({ functionName: `finch-connections-local-${match.route.function}`, timeoutMs });
    const handler = await options.loadHandler(match.route.function);
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        Promise.resolve(handler(event, context)),
        new Promise<typeof TIMED_OUT>((resolve) => { timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs); }),
      ]);
      if (result === TIMED_OUT) {
        console.error(`gateway: ${match.route.function} did not answer within ${timeoutMs} ms (request ${requestId})`);
        return withCors(withRequestId(gatewayErrors.unavailable(), requestId));
      }
      return withCors(withRequestId(fromHandlerResult(result), requestId));
    } catch (error) {
      // As in AWS the client learns nothing; the developer sees the stack here.
      console.error(`gateway: ${match.route.function} threw (request ${requestId}):`, error);
      return withCors(withRequestId(gatewayErrors.internal(), requestId));
    } finally {
      clearTimeout(timer);
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now();
    answer(req).then((reply) => {
      send(res, reply);
      options.log?.(`${req.method} ${(req.url ?? '/').split('?')[0]} ${reply.status} ${Date.now() - started}ms`);
    }, (error: unknown) => {
      console.error('gateway: unexpected error', error);
      send(res, gatewayErrors.internal());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUse(options.portVariable ?? 'PORT', options.port) : error);
    });
    server.listen(options.port, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

const TIMED_OUT = Symbol('timed out');

/** HTTP APIs decode the path before routing; a malformed escape is a 400. */
function decodePath(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

function withRequestId(reply: HttpAnswer, requestId: string): HttpAnswer {
  return { ...reply, headers: { ...reply.headers, 'apigw-requestid': requestId } };
}

/** The body, or undefined when it is over the limit. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, reply: HttpAnswer): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(reply.status, { ...reply.headers, 'content-length': reply.body.length });
  res.end(reply.body);
}
