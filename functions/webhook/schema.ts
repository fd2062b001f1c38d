// POST /webhooks/finch: the answer. The request is Finch's signed event, checked by the official SDK
// on the raw body (functions/adapters/finch-gateway.ts), so there is no request schema here.
import * as z from '#core/zod.js';

/** What became of an event (functions/core/webhooks.ts `WebhookOutcome`). */
export const WEBHOOK_OUTCOMES = ['applied', 'duplicate', 'not_applied'] as const;

/** 200: received; `outcome` says whether it changed a connection (made by the OpenAPI description and the tests only). */
export const WebhookResponse = () => z.strictObject({ received: z.literal(true), outcome: z.enum(WEBHOOK_OUTCOMES) });
