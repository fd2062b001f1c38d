export { startFinchEmulator, type EmulatorOptions, type RunningEmulator, type EmulatorState } from './server.js';
export { signWebhook } from './webhooks.js';
export { PROVIDERS } from './hosted-page.js';
