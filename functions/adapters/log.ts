// The core's Log over a Powertools Logger: one adapter for every function (the HTTP stack's logger
// and each non-HTTP handler's own).
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { Log } from '#core/deps.js';

/** Every function logs under one service name. */
export const serviceLogger = () => new Logger({ serviceName: 'finch-connections' });

export function logOf(logger: Logger): Log {
  return {
    info: (message, attributes = {}) => logger.info(message, attributes as LogAttributes),
    warn: (message, attributes = {}) => logger.warn(message, attributes as LogAttributes),
    error: (message, attributes = {}) => logger.error(message, attributes as LogAttributes),
  };
}
