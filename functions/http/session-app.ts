// reauthenticate's container: the store and Finch with the client credentials. No token cipher,
// so no KMS client in its bundle: a Connect session never reads or writes a token.
import { buildSessionContainer } from '#adapters/container.js';
import { finchCredentials } from '#adapters/secrets.js';
import { httpRoutes } from './stack.js';
import { callerSettingsOf, log } from './wiring.js';

export const sessionApp = buildSessionContainer(process.env, log, finchCredentials);

/** This container's route builder: the JWT claim names of its configuration, bound once. */
export const httpRoute = httpRoutes(callerSettingsOf(sessionApp.config));
