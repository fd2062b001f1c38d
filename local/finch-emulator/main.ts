// CLI: `tsx local/finch-emulator/main.ts`. Reads FINCH_EMULATOR_PORT (default 0: any free port),
// FINCH_CLIENT_ID, FINCH_CLIENT_SECRET (required), FINCH_WEBHOOK_SECRET and FINCH_WEBHOOK_URL.
import { startFinchEmulator } from './server.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`finch emulator: ${name} is required`);
    process.exit(1);
  }
  return value;
}

const portText = process.env.FINCH_EMULATOR_PORT ?? '0';
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`finch emulator: FINCH_EMULATOR_PORT must be a port number, got ${portText}`);
  process.exit(1);
}

const emulator = await startFinchEmulator({
  port,
  clientId: required('FINCH_CLIENT_ID'),
  clientSecret: required('FINCH_CLIENT_SECRET'),
  webhookSecret: process.env.FINCH_WEBHOOK_SECRET || undefined,
  webhookUrl: process.env.FINCH_WEBHOOK_URL || undefined,
}).catch((error: unknown) => {
  // A bad FINCH_WEBHOOK_SECRET or a port in use: one line, not a stack trace.
  console.error(`finch emulator: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
console.log(`finch emulator listening on ${emulator.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await emulator.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
