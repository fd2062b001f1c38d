// The bus rule's target, locally (issue 15): the local bus (local/events/bus.ts) delivers
// connection.connected and connection.reauthenticated to the real enrich-company handler, invoked
// with the EventBridge event as Lambda invokes a rule's target. A delivery that throws is retried
// by the bus, as Lambda retries an asynchronous invocation. So `npm start` shows the employer's
// name within seconds of connecting, with the code that runs in AWS.
import { ENRICHED_EVENT_TYPES } from '#core/enrichment.js';
import type { ConnectionEvent, LocalBus } from './events/bus.js';

/**
 * Imports the handler (its container reads process.env, as at a Lambda cold start: set the
 * handlers' environment first) and subscribes it. Returns the unsubscribe.
 */
export async function subscribeEnrichment(bus: LocalBus): Promise<() => void> {
  const module = await import('../functions/enrich-company/handler.js');
  let deliver = async (event: ConnectionEvent) => { await module.handler(event); };
  // The tests' IAM check records the function's AWS calls (test/support/aws-calls.ts). Never set by `npm start`.
  if (process.env.AWS_CALLS_DIR) {
    const calls = await import('../test/support/aws-calls.js');
    calls.recordCallsOf(module.enrichment, 'enrich-company');
    deliver = (event) => calls.invokeAs('enrich-company', async () => { await module.handler(event); });
  }
  return bus.subscribe(ENRICHED_EVENT_TYPES, deliver);
}
