// The containers handlers share, built once at cold start. Three, so each function bundles only the
// clients it calls: `app` has Finch with the client credentials (Secrets Manager in AWS) and the
// token cipher (KMS in AWS); `sessionApp` (functions/http/session-app.ts) serves reauthenticate,
// which never touches a token; `dataApp` (functions/http/data-app.ts) serves the data proxy,
// which never holds the client credentials.
import { buildContainer } from '#adapters/container.js';
import { finchCredentials } from '#adapters/secrets.js';
import { configuredCipher } from '#adapters/token-cipher.js';
import { httpRoutes } from './stack.js';
import { callerSettingsOf, log } from './wiring.js';

export const app = buildContainer(process.env, log, finchCredentials, configuredCipher);

/** This container's route builder: the JWT claim names of its configuration, bound once. */
export const httpRoute = httpRoutes(callerSettingsOf(app.config));
