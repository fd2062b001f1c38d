// What enrich-company takes: an SQS message of the enrichment queue whose body is an EventBridge
// event of the stack's bus (functions/core/events.ts), as the rule's SQS target puts it there (the
// whole event as the body: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html),
// of one of ENRICHING_EVENTS. Only what the core reads is checked; the detail's other fields are the
// event mapping's and are ignored here.
import { ENRICHED_EVENT_TYPES, enrichesCompany } from '#core/enrichment.js';
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
    /** connection.initial_sync_completed: which sync (only the org data's is taken). */
    reason: z.optional(z.string().check(z.maxLength(64))),
  }),
}).check(
  z.refine((event) => event.detail.type === event['detail-type'] && enrichesCompany(event.detail), {
    message: 'not an event enrichment reads the company for', path: ['detail', 'reason'],
  }),
);

export type EnrichmentEvent = z.output<ReturnType<typeof enrichmentEvent>>;

/** The event in a message body, or the paths of what is wrong with it (never the values). */
export function readMessageBody(schema: ReturnType<typeof enrichmentEvent>, body: string): { event: EnrichmentEvent } | { problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { problems: ['body (not JSON)'] };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { event: parsed.data };
  return { problems: parsed.error.issues.map((issue) => issue.path.join('.') || 'event') };
}
