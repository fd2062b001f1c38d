// A burst of connects (a customer migrating many employers) against a small Finch budget, through
// the whole local pipe: DynamoDB Local's stream → the events handler → the local bus → the
// enrichment subscription (local/enrich-company.ts), which invokes the real enrich-company handler
// with SQS-shaped messages and delivers a kept message again after the visibility the handler
// asked for (local/events/queue-endpoint.ts), up to ENRICHMENT_ATTEMPTS times, as the stack's queue
// does. The budget refuses most first attempts; every connection still gets its company name, with
// exactly one company_updated entry and event each. (Before the queue, the bus's three short
// attempts, like Lambda's asynchronous retries in AWS, lost the names: BENCHMARKS.md.)
import { subscribeEnrichment } from '#local/enrich-company.js';
import { type EventsPipe, startEventsPipe } from '../support/events-pipe.js';
import { capturedLogs, connectCustomer, customerIds, harnessForFile } from '../support/harness.js';

// Enrichment may take a request of /employer/company every 1.4 s, one at a time (a background
// caller leaves the burst to interactive ones): 6 a 6 s window, burst 2, reserve 1
// (functions/core/finch-budget.ts paceOf). The rest of the budget is roomy.
const h = harnessForFile({ env: { FINCH_RATE_LIMITS: 'company=6/6,ip=1000000/60' } });
const customer = customerIds();
const LEGAL_NAME = 'Acme Payroll LLC';
const BURST = 6;

let pipe: EventsPipe;
let unsubscribe: () => void;
beforeAll(async () => {
  pipe = await startEventsPipe(h.table);
  unsubscribe = await subscribeEnrichment(pipe);
});
afterAll(async () => {
  unsubscribe?.();
  await pipe?.close();
});

const companyUpdates = async (customerId: string, connectionId: string) => {
  const { entries } = await h.app.deps.connections.listAudit(customerId, connectionId, { limit: 100 });
  return entries.filter((entry) => entry.action === 'company_updated');
};

test(`${BURST} connects at once on a small budget: every connection gets its company name, once, though the budget refused most first tries`, async () => {
  const connections = await Promise.all(Array.from({ length: BURST }, async (_, i) => {
    const customerId = customer(`burst-${i}`);
    const connectionId = await connectCustomer(h, { customer_id: customerId, sub: `user-${i}` }, { customer_name: LEGAL_NAME });
    return { customerId, connectionId };
  }));
  // Every change read from the stream and every delivery settled, retries included (no deadline but jest's).
  await pipe.drain();
  // The company_updated entries' own events.
  await pipe.drain();

  for (const { customerId, connectionId } of connections) {
    const got = await h.invoke(`GET /connections/${connectionId}`, { claims: { customer_id: customerId, sub: 'reader' } });
    expect({ connectionId, company_name: got.json.company_name }).toEqual({ connectionId, company_name: LEGAL_NAME });
    expect(await companyUpdates(customerId, connectionId)).toHaveLength(1);
    const events = pipe.bus.events(connectionId).filter((event) => event.type === 'connection.company_updated');
    expect({ connectionId, events: events.length }).toEqual({ connectionId, events: 1 });
  }
  // The budget did refuse: messages were kept and hidden, then delivered again.
  const throttled = capturedLogs().split('\n').filter((line) => line.includes('company enrichment throttled by the Finch budget'));
  expect(throttled.length).toBeGreaterThanOrEqual(BURST / 2);
}, 180_000);
