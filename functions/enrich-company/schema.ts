// What enrich-company takes: an EventBridge event of the stack's bus (functions/core/events.ts) as
// a rule delivers it to its Lambda target, of one of the two types the rule matches. Only what the
// core reads is checked; the detail's other fields are the event mapping's and are ignored here.
import { ENRICHED_EVENT_TYPES } from '#core/enrichment.js';
import { EVENT_SOURCE } from '#core/events.js';
import { CONNECTION_ID_PATTERN, CUSTOMER_ID_PATTERN } from '#core/ids.js';
import * as z from '#core/zod.js';

export const enrichmentEvent = () => z.object({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.enum(ENRICHED_EVENT_TYPES),
  detail: z.object({
    /** The audit entry's id: logged, so a redelivery can be told from a new event. */
    id: z.string().check(z.minLength(1), z.maxLength(256)),
    type: z.enum(ENRICHED_EVENT_TYPES),
    connection_id: z.string().check(z.regex(CONNECTION_ID_PATTERN)),
    customer_id: z.string().check(z.regex(CUSTOMER_ID_PATTERN)),
  }),
});

export type EnrichmentEvent = z.output<ReturnType<typeof enrichmentEvent>>;
