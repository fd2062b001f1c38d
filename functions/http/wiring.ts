// What the containers (app.ts, session-app.ts, data-app.ts) take from the HTTP layer: the core's
// logger over Powertools, and the JWT claim names from the configuration.
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { Config } from '#adapters/config.js';
import type { Log } from '#core/deps.js';
import type { CallerSettings } from './caller.js';
import { logger } from './stack.js';

export const log: Log = {
  info: (message, attributes = {}) => logger.info(message, attributes as LogAttributes),
  warn: (message, attributes = {}) => logger.warn(message, attributes as LogAttributes),
  error: (message, attributes = {}) => logger.error(message, attributes as LogAttributes),
};

export const callerSettingsOf = (config: Config<'caller'>): CallerSettings => ({
  customerIdClaim: config.CUSTOMER_ID_CLAIM,
  customerNameClaim: config.CUSTOMER_NAME_CLAIM,
  adminScope: config.ADMIN_SCOPE,
  adminClientIds: new Set(config.ADMIN_CLIENT_IDS),
});
