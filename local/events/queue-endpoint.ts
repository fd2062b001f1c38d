// The stack's enrichment queue, locally, as far as enrich-company's own SQS client uses it:
// ChangeMessageVisibility on a loopback port (ENRICHMENT_QUEUE_URL), in the AWS JSON 1.0 protocol
// @aws-sdk/client-sqs speaks — `POST /`, `X-Amz-Target: AmazonSQS.ChangeMessageVisibility`, body
// `{QueueUrl, ReceiptHandle, VisibilityTimeout}`, answer `{}`; an error as `{__type, message}` with
// `x-amzn-query-error` (the SDK reads either). The rest of the queue (receiving, deleting, the
// receive count, redrive) is the local subscription's (local/enrich-company.ts), which hands out
// receipt handles here and reads back the visibility the handler asked for. Signatures are not
// checked (the local credentials are fixed). Any other operation is refused.
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RunningEndpoint, readBody } from './put-events-endpoint.js';

const JSON_10 = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 64 * 1024;
/** ChangeMessageVisibility's VisibilityTimeout: 0 to 43,200 seconds (12 hours). */
const MAX_VISIBILITY_SECONDS = 43_200;

export const LOCAL_QUEUE_NAME = 'finch-connections-enrichment';

export interface LocalQueueEndpoint extends RunningEndpoint {
  /** What the handler's QueueUrl must name (ENRICHMENT_QUEUE_URL). */
  queueUrl: string;
  /** A receipt handle for one delivery of a message: ChangeMessageVisibility accepts it until `settle`. */
  receive(): string;
  /** Ends a delivery: the visibility timeout the handler last set for it, if it set one. */
  settle(receiptHandle: string): number | undefined;
}

function answer(res: ServerResponse, status: number, body: unknown, queryError?: string): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': JSON_10, 'content-length': bytes.length, 'x-amzn-requestid': randomUUID(),
    ...(queryError ? { 'x-amzn-query-error': queryError } : {}),
  });
  res.end(bytes);
}

const failure = (res: ServerResponse, code: string, message: string, status = 400) =>
  answer(res, status, { __type: `com.amazonaws.sqs#${code}`, message }, `${code};Sender`);

/** Serves the local enrichment queue's ChangeMessageVisibility on `127.0.0.1:<port>` (0: any free port). */
export async function startQueueEndpoint(port = 0, account = '000000000000'): Promise<LocalQueueEndpoint> {
  /** Receipt handle → the visibility timeout asked (null: none yet), for the deliveries in flight. */
  const inFlight = new Map<string, number | null>();
  let queueUrl = '';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (req.method !== 'POST' || (req.url ?? '/') !== '/') return failure(res, 'UnsupportedOperation', 'Not found.', 404);
    if (body === null) return failure(res, 'InvalidParameterValue', 'The request is too large.');
    if (req.headers['x-amz-target'] !== 'AmazonSQS.ChangeMessageVisibility') {
      return failure(res, 'UnsupportedOperation', `The local enrichment queue serves AmazonSQS.ChangeMessageVisibility only, not ${String(req.headers['x-amz-target'])}.`);
    }
    let input: { QueueUrl?: unknown; ReceiptHandle?: unknown; VisibilityTimeout?: unknown };
    try {
      input = JSON.parse(body.toString('utf8')) as typeof input;
    } catch {
      return failure(res, 'InvalidParameterValue', 'The body is not a ChangeMessageVisibility request.');
    }
    if (input.QueueUrl !== queueUrl) return failure(res, 'QueueDoesNotExist', 'The specified queue does not exist.');
    const seconds = input.VisibilityTimeout;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_SECONDS) {
      return failure(res, 'InvalidParameterValue', `Value ${String(seconds)} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and ${MAX_VISIBILITY_SECONDS}.`);
    }
    if (typeof input.ReceiptHandle !== 'string' || !inFlight.has(input.ReceiptHandle)) {
      return failure(res, 'ReceiptHandleIsInvalid', 'The input receipt handle is invalid.');
    }
    inFlight.set(input.ReceiptHandle, seconds);
    return answer(res, 200, {});
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('local queue: unexpected error', error);
      if (!res.headersSent) failure(res, 'InternalError', 'Internal error.', 500);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${bound}`;
  queueUrl = `${url}/${account}/${LOCAL_QUEUE_NAME}`;
  return {
    url,
    port: bound,
    queueUrl,
    receive() {
      const receiptHandle = randomUUID();
      inFlight.set(receiptHandle, null);
      return receiptHandle;
    },
    settle(receiptHandle) {
      const seconds = inFlight.get(receiptHandle);
      inFlight.delete(receiptHandle);
      return seconds ?? undefined;
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
