// The data proxy's container (finch-proxy): the store, the token cipher and Finch's data API with a
// connection's token. No client credentials, so no Secrets Manager client in its bundle.
import { buildDataContainer } from '#adapters/container.js';
import { callerSettingsOf, log } from './wiring.js';

export const dataApp = buildDataContainer(process.env, log);

export const callerSettings = callerSettingsOf(dataApp.config);
