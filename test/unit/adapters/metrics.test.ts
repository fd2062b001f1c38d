// The EMF adapter (functions/adapters/metrics.ts) and the Finch clients' metering
// (functions/adapters/finch-metrics-fetch.ts), on their own: what one flush writes, as CloudWatch
// reads EMF (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
import { jest } from '@jest/globals';
import { EmfMetrics } from '#adapters/metrics.js';
import { countFinchError, meteredBudgetObserver, operationOf, withFinchMetrics } from '#adapters/finch-metrics-fetch.js';
import { FinchRateLimited, FinchTimeout, TransientStoreError } from '#core/errors.js';
import { statusClassOf } from '#core/metrics.js';
import { RecordingMetrics } from '../../support/fakes.js';
import { emfLines, emfRecords } from '../../support/emf.js';

/** What `run` wrote to stdout (Powertools' Console writes EMF there) and stderr. */
function captured(run: () => void): { out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const spyOut = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => { out.push(String(chunk)); return true; });
  const spyErr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => { err.push(String(chunk)); return true; });
  try { run(); } finally { spyOut.mockRestore(); spyErr.mockRestore(); }
  return { out: out.join(''), err: err.join('') };
}

describe('EmfMetrics', () => {
  test('one flush: a record per distinct set of dimension values, each under the metric\'s dimensions and its rollups, with the request\'s metadata', () => {
    const metrics = new EmfMetrics('Test/Namespace');
    metrics.add('Callbacks', { Result: 'connected' });
    metrics.add('FinchRequests', { Operation: 'token_exchange', StatusClass: '2xx' });
    metrics.add('FinchLatency', { Operation: 'token_exchange' }, 123);
    metrics.add('FinchLatency', { Operation: 'token_exchange' }, 45);
    metrics.add('IdempotentReplays', {});
    const { out, err } = captured(() => metrics.flush({ request_id: 'req-1', route: 'GET /connect/callback' }));
    const records = emfRecords(out);
    expect(records).toHaveLength(4);
    for (const record of records) {
      expect(record).toMatchObject({ service: 'finch-connections', request_id: 'req-1', route: 'GET /connect/callback' });
      expect(record._aws.CloudWatchMetrics[0].Namespace).toBe('Test/Namespace');
    }
    const finch = records.find((record) => 'FinchRequests' in record)!;
    expect(finch._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'Operation', 'StatusClass'], ['service', 'StatusClass'], ['service']]);
    // Two latencies of one operation: one record, both values.
    expect(records.find((record) => 'FinchLatency' in record)!.FinchLatency).toEqual([123, 45]);
    expect(emfLines(out)).toEqual([
      'Callbacks Count', 'Callbacks Count Result=connected',
      'FinchLatency Milliseconds Operation=token_exchange', 'FinchLatency Milliseconds Operation=token_exchange',
      'FinchRequests Count', 'FinchRequests Count Operation=token_exchange StatusClass=2xx', 'FinchRequests Count StatusClass=2xx',
      'IdempotentReplays Count',
    ]);
    // No warning line for the rollups' repeated keys.
    expect(err).toBe('');
  });

  test('a flush writes each datum once: the next flush writes nothing, and metadata does not carry over', () => {
    const metrics = new EmfMetrics('Test/Namespace');
    metrics.add('SessionsCreated', { Kind: 'reauth' });
    expect(emfRecords(captured(() => metrics.flush({ request_id: 'a' })).out)).toHaveLength(1);
    expect(captured(() => metrics.flush({ request_id: 'b' })).out).toBe('');
    metrics.add('SessionsCreated', { Kind: 'adopt' });
    const [record] = emfRecords(captured(() => metrics.flush()).out);
    expect(record).toMatchObject({ Kind: 'adopt', SessionsCreated: 1 });
    expect(record).not.toHaveProperty('request_id');
  });
});

describe('Finch metering', () => {
  test('operations are a fixed list: ids in a path never become a dimension', () => {
    expect(['/auth/token', '/connect/sessions', '/connect/sessions/reauthenticate', '/introspect', '/disconnect', '/employer/individual/abc-123', '/employer/directory']
      .map(operationOf)).toEqual(['token_exchange', 'connect_session', 'reauth_session', 'introspect', 'disconnect', 'data', 'data']);
    expect([200, 204, 301, 400, 401, 404, 429, 500, 503, 0].map(statusClassOf)).toEqual(['2xx', '2xx', '3xx', '4xx', '401', '4xx', '429', '5xx', '5xx', 'other']);
  });

  test('each request that left counts with its status class and latency; an abort is a timeout, anything else thrown a network_error', async () => {
    const metrics = new RecordingMetrics();
    const answers: Array<() => Promise<Response>> = [
      async () => new Response('{}', { status: 503 }),
      async () => { throw Object.assign(new Error('aborted'), { name: 'AbortError' }); },
      async () => { throw new TypeError('fetch failed'); },
    ];
    const send = withFinchMetrics(async () => answers.shift()!(), metrics);
    expect((await send('https://api.tryfinch.com/introspect')).status).toBe(503);
    await expect(send('https://api.tryfinch.com/auth/token')).rejects.toThrow('aborted');
    await expect(send('https://api.tryfinch.com/employer/company')).rejects.toThrow('fetch failed');
    expect(metrics.of('FinchRequests')).toEqual([
      'FinchRequests Operation=introspect StatusClass=5xx', 'FinchRequests Operation=token_exchange StatusClass=timeout', 'FinchRequests Operation=data StatusClass=network_error',
    ]);
    expect(metrics.of('FinchLatency')).toEqual(['FinchLatency Operation=introspect']);
  });

  test('errors count by our class name; a store fault met on the way (the budget\'s take) is not Finch\'s', () => {
    const metrics = new RecordingMetrics();
    countFinchError(metrics, new FinchTimeout());
    countFinchError(metrics, new FinchRateLimited(3, null));
    countFinchError(metrics, new TypeError('an SDK\'s own'));
    expect(countFinchError(metrics, new TransientStoreError(new Error('throttled')))).toBeInstanceOf(TransientStoreError);
    expect(metrics.of('FinchErrors')).toEqual(['FinchErrors ErrorName=FinchTimeout', 'FinchErrors ErrorName=FinchRateLimited', 'FinchErrors ErrorName=other']);
  });

  test('the budget\'s observer counts takes, each bucket\'s remaining places and throttles, and still hands every event to the logging one', () => {
    const metrics = new RecordingMetrics();
    const seen: string[] = [];
    const observer = meteredBudgetObserver({
      taken: () => seen.push('taken'), throttled: () => seen.push('throttled'), penalized: () => seen.push('penalized'),
    }, metrics);
    observer.taken({ buckets: { ip: 3 }, kind: 'background' });
    observer.throttled({ bucket: 'directory', kind: 'interactive', retry_after_seconds: 4, blocked_by: null });
    observer.penalized({ bucket: 'ip', finch_code: 'finch_api_ip_rl', seconds: 3600 });
    expect(seen).toEqual(['taken', 'throttled', 'penalized']);
    expect(metrics.data.map((datum) => `${datum.name} ${JSON.stringify(datum.dimensions)}`)).toEqual([
      'FinchBudgetTakes {"CallerKind":"background"}', 'FinchBudgetRemaining {"Bucket":"ip"}', 'FinchBudgetThrottles {"Bucket":"directory","CallerKind":"interactive"}',
    ]);
    expect(metrics.data.find((datum) => datum.name === 'FinchBudgetRemaining')).toMatchObject({ value: 3 });
  });
});
