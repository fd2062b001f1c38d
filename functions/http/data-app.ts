// The data proxy's container (finch-proxy): the store, the token cipher and Finch's data API with a
// connection's token. No client credentials, so no Secrets Manager client in its bundle.
import { buildDataContainer } from '#adapters/container.js';
import { configuredCipher } from '#adapters/token-cipher.js';
import { httpRoutes } from './stack.js';
import { callerSettingsOf, log } from './wiring.js';

export const dataApp = buildDataContainer(process.env, log, configuredCipher);

/** This container's route builder: the JWT claim names of its configuration, bound once. */
export const httpRoute = httpRoutes(callerSettingsOf(dataApp.config));
