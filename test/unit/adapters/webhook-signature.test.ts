// Finch's published test vector, through the same verifier the webhook Lambda uses.
import { jest } from '@jest/globals';
import { SdkFinchGateway } from '#adapters/finch-gateway.js';
import { StaticCredentials } from '#adapters/secrets.js';
import { WebhookSignatureInvalid } from '#core/errors.js';
import { testBudget } from '../../support/budget.js';

const SECRET = '5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH';
const BODY = '{"company_id":"720be419-0293-4d32-a707-32179b0827ab"}';
const HEADERS = {
  'finch-event-id': 'msg_2Lh9KRb0pzN4LePd3XiA4v12Axj',
  'finch-timestamp': '1676312382',
  'finch-signature': 'v1,m7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s=',
};

const verifier = (secret = SECRET) => new SdkFinchGateway(
  new StaticCredentials({ client_id: 'id', client_secret: 'secret', webhook_secret: secret }),
  { baseURL: 'http://127.0.0.1:9', budget: testBudget() },
);

describe('webhook signature (Finch\'s test vector, fixed clock)', () => {
  beforeEach(() => { jest.useFakeTimers({ now: 1676312382 * 1000 + 10_000 }); });
  afterEach(() => { jest.useRealTimers(); });

  test('the published vector verifies', async () => {
    await expect(verifier().verify(BODY, HEADERS)).resolves.toBeUndefined();
  });

  test('one valid signature among several is enough', async () => {
    await expect(verifier().verify(BODY, { ...HEADERS, 'finch-signature': `v1,AAAA ${HEADERS['finch-signature']}` })).resolves.toBeUndefined();
  });

  test.each([
    ['a changed body', BODY.replace('720b', '720c'), HEADERS],
    ['another event id', BODY, { ...HEADERS, 'finch-event-id': 'msg_other' }],
    ['another timestamp', BODY, { ...HEADERS, 'finch-timestamp': '1676312383' }],
    ['a v2 signature only', BODY, { ...HEADERS, 'finch-signature': HEADERS['finch-signature'].replace('v1,', 'v2,') }],
    ['no signature', BODY, { 'finch-event-id': HEADERS['finch-event-id'], 'finch-timestamp': HEADERS['finch-timestamp'] }],
  ])('%s is refused', async (_name, body, headers) => {
    await expect(verifier().verify(body, headers)).rejects.toBeInstanceOf(WebhookSignatureInvalid);
  });

  test('a wrong secret is refused', async () => {
    await expect(verifier(Buffer.from('x'.repeat(24)).toString('base64')).verify(BODY, HEADERS)).rejects.toBeInstanceOf(WebhookSignatureInvalid);
  });

  test('more than 300 s off the clock is refused, both ways', async () => {
    jest.setSystemTime(1676312382 * 1000 + 301_000);
    await expect(verifier().verify(BODY, HEADERS)).rejects.toBeInstanceOf(WebhookSignatureInvalid);
    jest.setSystemTime(1676312382 * 1000 - 301_000);
    await expect(verifier().verify(BODY, HEADERS)).rejects.toBeInstanceOf(WebhookSignatureInvalid);
  });
});
