// `npm start`: the whole product on this machine, no AWS account and no Docker.
//   npm start                      DynamoDB Local in memory, the Finch emulator, the gateway on :3000
//   npm start -- --persist         keep DynamoDB's data in .local/dynamodb across runs
//   npm start -- --finch=sandbox   the real Finch API (FINCH_CLIENT_ID, FINCH_CLIENT_SECRET, FINCH_API_BASE_URL)
// Ports: PORT (3000), FINCH_EMULATOR_PORT (4010), DYNAMODB_PORT (8000); 0 = any free port.
// LOCAL_STATE_DIR moves .local/ (secrets, data, stack.json) elsewhere.
import { watchLaunchers } from './parent-watch.js';
import { parsePort } from './ports.js';
import { stateDirFrom } from './paths.js';
import { type RunningStack, startStack } from './stack.js';

const USAGE = `usage: npm start [-- --persist] [-- --finch=emulator|sandbox] [-- --quiet]
  --persist           keep DynamoDB's data in .local/dynamodb (default: in memory)
  --finch=sandbox     use the real Finch API: set FINCH_CLIENT_ID, FINCH_CLIENT_SECRET
                      (and FINCH_API_BASE_URL, CALLBACK_URL if not the defaults)
  --quiet             no request log
environment: PORT (3000), FINCH_EMULATOR_PORT (4010), DYNAMODB_PORT (8000), 0 = any free port;
             LOCAL_STATE_DIR (.local)`;

const fail = (message: string): never => {
  console.error(`error: ${message}`);
  process.exit(1);
};

const args = process.argv.slice(2);
let persist = false;
let quiet = false;
let finch: 'emulator' | 'sandbox' = 'emulator';
for (const arg of args) {
  if (arg === '--persist') persist = true;
  else if (arg === '--quiet') quiet = true;
  else if (arg === '--finch=emulator' || arg === '--finch=sandbox') finch = arg.slice('--finch='.length) as typeof finch;
  else if (arg === '--help' || arg === '-h') { console.log(USAGE); process.exit(0); }
  else fail(`unknown option ${arg}\n${USAGE}`);
}

let ports: { port: number; finchPort: number; dynamodbPort: number };
try {
  ports = {
    port: parsePort('PORT', process.env.PORT, 3000),
    finchPort: parsePort('FINCH_EMULATOR_PORT', process.env.FINCH_EMULATOR_PORT, 4010),
    dynamodbPort: parsePort('DYNAMODB_PORT', process.env.DYNAMODB_PORT, 8000),
  };
} catch (error) {
  fail((error as Error).message);
}

let stack: RunningStack | undefined;
let stopping = false;
async function shutdown(signal: string, code: number): Promise<void> {
  if (stopping) {
    // A second Ctrl-C: stop waiting. The exit hook still kills Java.
    process.exit(1);
  }
  stopping = true;
  // Still starting: exiting is enough, the exit hook kills Java and nothing else outlives us.
  if (!stack) process.exit(code);
  console.log(`\n${signal}: stopping…`);
  await stack.stop();
  console.log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown('SIGINT', 0));
process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGHUP', () => void shutdown('SIGHUP', 0));
// `kill <npm's pid>` reaches npm's shell only: when whoever launched us is gone, stop as on SIGTERM.
watchLaunchers((pid) => void shutdown(`launcher ${pid} exited`, 0));

const stateDir = stateDirFrom(process.env);
console.log('finch-connections local stack');
try {
  stack = await startStack({
    ...ports!,
    persist,
    finch,
    stateDir,
    progress: (line) => console.log(`  ${line}`),
    accessLog: quiet ? undefined : (line) => console.log(`  ${line}`),
  });
} catch (error) {
  const known = ['PortInUse', 'StackError', 'JavaMissing', 'ConfigError'].includes((error as Error).name);
  if (!known) console.error(error);
  fail((error as Error).message);
}

const running = stack!;
console.log(`ready in ${process.uptime().toFixed(1)}s
  demo page   ${running.apiUrl}/
  API         ${running.apiUrl}
  Finch       ${running.finchUrl}${running.finch === 'emulator' ? ' (emulator)' : ' (real Finch API)'}
  DynamoDB    ${running.dynamodbEndpoint} table ${running.tableName}${persist ? ' (persisted)' : ' (in memory)'}
  stack file  ${running.stackFile}
  dev token   npm run token -- --customer acme
Ctrl-C stops everything.`);

void running.dynamodbExited.then(async ({ code, signal }) => {
  if (stopping) return;
  console.error(`error: DynamoDB Local stopped on its own (code ${code}, signal ${signal}); stopping the stack`);
  stopping = true;
  await running.stop();
  process.exit(1);
});
