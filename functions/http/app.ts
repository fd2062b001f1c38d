// The container every handler shares, built once at cold start.
import { buildContainer } from '#adapters/container.js';
import type { Log } from '#core/deps.js';
import type { CallerSettings } from './caller.js';
import { logger } from './stack.js';

import type { LogAttributes } from '@aws-lambda-powertools/logger/types';

const log: Log = {
  info: (message, attributes = {}) => logger.info(message, attributes as LogAttributes),
  warn: (message, attributes = {}) => logger.warn(message, attributes as LogAttributes),
  error: (message, attributes = {}) => logger.error(message, attributes as LogAttributes),
};

export const app = buildContainer(process.env, log);

export const callerSettings: CallerSettings = {
  customerIdClaim: app.config.CUSTOMER_ID_CLAIM,
  customerNameClaim: app.config.CUSTOMER_NAME_CLAIM,
  adminScope: app.config.ADMIN_SCOPE,
};
