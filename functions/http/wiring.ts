// What the containers (app.ts, session-app.ts, data-app.ts) take from the HTTP layer: the core's
// logger over Powertools, and the JWT claim names from the configuration.
import type { Config } from '#adapters/config.js';
import { logOf } from '#adapters/log.js';
import type { Log } from '#core/deps.js';
import type { CallerSettings } from './caller.js';
import { logger } from './stack.js';

export const log: Log = logOf(logger);

export const callerSettingsOf = (config: Config<'caller'>): CallerSettings => ({
  customerIdClaim: config.CUSTOMER_ID_CLAIM,
  customerNameClaim: config.CUSTOMER_NAME_CLAIM,
  adminScope: config.ADMIN_SCOPE,
  adminClientIds: new Set(config.ADMIN_CLIENT_IDS),
});
