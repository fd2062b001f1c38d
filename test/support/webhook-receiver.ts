// The backend's webhook endpoint as Finch reaches it: an HTTP server standing for API Gateway in
// front of POST /webhooks/finch, so the emulator's signed deliveries (and its retries) reach the
// real webhook handler through the harness.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Harness, Invoked } from './harness.js';

export interface WebhookReceiver {
  /** Where the emulator should deliver (`configureWebhooks({ url })`). */
  url: string;
  close(): Promise<void>;
}

/**
 * Hands each delivery to the webhook handler as API Gateway would, raw body and headers intact, and
 * answers Finch with the handler's answer (599 if the invocation failed). `onAnswer` sees each
 * answer first, with the delivery's headers.
 */
export async function startWebhookReceiver(
  harness: Harness,
  onAnswer?: (answer: Invoked, headers: Record<string, string>) => void,
): Promise<WebhookReceiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]));
      harness.invoke('POST /webhooks/finch', { rawBody: Buffer.concat(chunks).toString('utf8'), headers }).then((answer) => {
        onAnswer?.(answer, headers);
        res.writeHead(answer.statusCode).end(answer.body);
      }, () => res.writeHead(599).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/finch`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
