// One invocation of a synthesized Lambda bundle in this fresh Node process, as the Node.js runtime
// makes it: the handler module is imported from the task root (init; a throw here is an init
// error, like a configuration the function refuses), then called once with the event the parent
// sends over IPC and a Lambda context. The response, or the error in Lambda's shape, goes back over
// IPC; the function's own output stays on stdout/stderr. Started by scripts/invoke.ts with exactly
// the environment the function gets, so this file reads nothing from it.
//
// argv: <task root> <handler, e.g. index.handler> <function name> <memory MB> <timeout s>
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [taskRoot, handlerSpec, functionName, memoryMb, timeoutSeconds] = process.argv.slice(2);

const errorShape = (error) => ({
  errorType: error instanceof Error ? error.name : typeof error,
  errorMessage: error instanceof Error ? error.message : String(error),
  trace: error instanceof Error && error.stack ? error.stack.split('\n') : [],
});

function named(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

async function loadHandler() {
  const dot = handlerSpec.lastIndexOf('.');
  const moduleName = handlerSpec.slice(0, dot);
  const exportName = handlerSpec.slice(dot + 1);
  const file = ['.mjs', '.js', '.cjs'].map((extension) => join(taskRoot, `${moduleName}${extension}`)).find((candidate) => existsSync(candidate));
  if (!file) throw named('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  const module = await import(pathToFileURL(file).href);
  const handler = module[exportName];
  if (typeof handler !== 'function') throw named('Runtime.HandlerNotFound', `${handlerSpec} is undefined or not exported`);
  return handler;
}

function lambdaContext() {
  const deadline = Date.now() + Number(timeoutSeconds) * 1000;
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${functionName}`,
    memoryLimitInMB: memoryMb,
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '$LATEST',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

const reply = (message) => new Promise((resolve) => process.send(message, () => resolve()));

const eventArrives = new Promise((resolve) => process.once('message', resolve));
let handler;
try {
  handler = await loadHandler();
} catch (error) {
  await reply({ phase: 'init', error: errorShape(error) });
  process.exit(1);
}
const event = await eventArrives;
try {
  const response = await handler(event, lambdaContext());
  await reply({ phase: 'invoke', response: response ?? null });
  process.exit(0);
} catch (error) {
  await reply({ phase: 'invoke', error: errorShape(error) });
  process.exit(1);
}
