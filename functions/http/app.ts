// The containers handlers share, built once at cold start. Two, so each function bundles only the
// clients it calls: `app` has Finch with the client credentials (Secrets Manager in AWS), and
// `dataApp` (functions/http/data-app.ts) serves the data proxy, which never holds them.
import { buildContainer } from '#adapters/container.js';
import { finchCredentials } from '#adapters/secrets.js';
import { httpRoutes } from './stack.js';
import { callerSettingsOf, log } from './wiring.js';

export const app = buildContainer(process.env, log, finchCredentials);

/** This container's route builder: the JWT claim names of its configuration, bound once. */
export const httpRoute = httpRoutes(callerSettingsOf(app.config));
