// EventBridge's PutEvents on a loopback port, for the events function's real SDK client
// (EVENTBRIDGE_ENDPOINT): the AWS JSON 1.1 protocol as @aws-sdk/client-eventbridge speaks it —
// `POST /`, `X-Amz-Target: AWSEvents.PutEvents`, body `{Entries: [...]}` with `Time` in epoch
// seconds, answer `{FailedEntryCount, Entries: [{EventId} | {ErrorCode, ErrorMessage}]}` in the
// request's order; an error as `{__type, message}` (the SDK reads `__type`). Signatures are not
// checked (the local credentials are fixed). Any other operation is refused.
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { LocalBus } from './bus.js';

const JSON_11 = 'application/x-amz-json-1.1';
/** PutEvents takes 1 to 10 entries (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html). */
const MAX_ENTRIES = 10;
const MAX_BODY_BYTES = 1024 * 1024;

export interface RunningEndpoint {
  url: string;
  port: number;
  close(): Promise<void>;
}

type WireEntry = Omit<PutEventsRequestEntry, 'Time'> & { Time?: number | string };

function answer(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  const type = status >= 400 ? { 'x-amzn-errortype': (body as { __type: string }).__type } : {};
  res.writeHead(status, { 'content-type': JSON_11, 'content-length': bytes.length, 'x-amzn-requestid': crypto.randomUUID(), ...type });
  res.end(bytes);
}

const failure = (type: string, message: string) => ({ __type: type, message });

/** The request's body, or null past `maxBytes` (the local AWS endpoints' size limit). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Serves `bus` as PutEvents on `127.0.0.1:<port>` (0: any free port). */
export async function startPutEventsEndpoint(bus: LocalBus, port = 0): Promise<RunningEndpoint> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (req.method !== 'POST' || (req.url ?? '/') !== '/') return answer(res, 404, failure('UnknownOperationException', 'Not found.'));
    if (body === null) return answer(res, 413, failure('ValidationException', 'The request is too large.'));
    if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
      return answer(res, 400, failure('UnknownOperationException', `The local bus serves AWSEvents.PutEvents only, not ${String(req.headers['x-amz-target'])}.`));
    }
    let entries: WireEntry[];
    try {
      entries = (JSON.parse(body.toString('utf8')) as { Entries?: WireEntry[] }).Entries ?? [];
      if (!Array.isArray(entries)) throw new Error('Entries');
    } catch {
      return answer(res, 400, failure('SerializationException', 'The body is not a PutEvents request.'));
    }
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      return answer(res, 400, failure('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`));
    }
    if (bus.takeFault('request')) return answer(res, 500, failure('InternalException', 'Injected fault (local bus).'));
    const lostAnswer = bus.takeFault('lost-answer');
    const results = bus.put(entries.map(({ Time, ...entry }) => ({
      ...entry,
      ...(Time === undefined ? {} : { Time: typeof Time === 'number' ? new Date(Time * 1000) : new Date(Time) }),
    })));
    if (lostAnswer) return answer(res, 500, failure('InternalException', 'Injected fault (local bus): the entries were accepted.'));
    return answer(res, 200, { FailedEntryCount: results.filter((result) => result.ErrorCode).length, Entries: results });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('local bus: unexpected error', error);
      if (!res.headersSent) answer(res, 500, failure('InternalException', 'Internal error.'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
