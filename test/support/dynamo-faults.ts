// Faults injected into a real DynamoDB client with SDK middleware, so the product's own requests to
// DynamoDB Local fail at the step a test names: before the request is sent (nothing written), or
// after DynamoDB applied it (the write happened, the answer was lost). Added at the `initialize`
// step, ahead of the SDK's own retries, so what the product sees is the fault itself.
import {
  DynamoDBServiceException, ThrottlingException, TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BaseDeps } from '#core/deps.js';

type Input = Record<string, any>;

/** The callback's steps, told apart by what each request does (not by its exact expression text). */
export type Step = 'claim' | 'stash' | 'transaction' | 'finish' | 'get-session' | 'any-write';

export interface FaultRule {
  step: Step;
  /** Which error to throw (see `faults` below), given the request it fails. */
  error: (input: Input) => Error;
  /** How many matching requests fail (default 1); Infinity for a persistent fault. */
  times?: number;
  /** Let this many matching requests through first. */
  skip?: number;
  /** Send the request first, then fail: DynamoDB applied it but the caller never hears so. */
  afterSend?: boolean;
}

/** An item's `pk`, from a document client's request or a plain client's marshalled one (`{S: …}`). */
function keyOf(op: Input): string {
  const pk = op.Key?.pk ?? op.Item?.pk;
  return String(typeof pk === 'object' && pk !== null ? pk.S : pk ?? '');
}
const isSession = (op: Input) => keyOf(op).startsWith('SESSION#');
const isConnectionOrOwner = (op: Input) => /^(CUSTOMER|CONNECTION)#/.test(keyOf(op));
const hasValue = (op: Input, name: string) => Object.hasOwn(op.ExpressionAttributeValues ?? {}, name);

/** The item operations of a request: the request itself, or each item of a transaction. */
function operations(commandName: string, input: Input): Array<{ kind: string; op: Input }> {
  if (commandName === 'TransactWriteItemsCommand') {
    return (input.TransactItems ?? []).flatMap((item: Input) => Object.entries(item).map(([kind, op]) => ({ kind, op: op as Input })));
  }
  const kind = commandName.replace(/(Item)?Command$/, '');
  return [{ kind, op: input }];
}

/**
 * Whether a request is the named step. Told apart by what it does, whether it goes alone or in a
 * transaction with other items (an audit entry, say): claim PENDING → CLAIMED; stash the
 * ciphertext; the final transaction completes the session together with a connection or
 * ownership write; finish completes or fails a session alone.
 */
export function matches(step: Step, commandName: string, input: Input): boolean {
  const ops = operations(commandName, input);
  const sessionUpdate = (value: string) => ops.some(({ kind, op }) => kind === 'Update' && isSession(op) && hasValue(op, value));
  const storesConnection = ops.some(({ op }) => isConnectionOrOwner(op));
  switch (step) {
    case 'claim': return sessionUpdate(':pending');
    case 'stash': return sessionUpdate(':stash');
    case 'transaction': return sessionUpdate(':final') && storesConnection;
    case 'finish': return sessionUpdate(':final') && !storesConnection;
    case 'get-session': return commandName === 'GetItemCommand' && isSession(input);
    case 'any-write': return /^(PutItem|UpdateItem|DeleteItem|TransactWriteItems|BatchWriteItem)Command$/.test(commandName);
  }
}

export const faults = {
  throttling: () => new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: { httpStatusCode: 400 } }),
  /**
   * A transaction that met another one on its last item: DynamoDB cancels it with one reason per
   * item, TransactionConflict for that one. (A single-item request gets TransactionConflictException.)
   */
  transactionConflict: (input: Input) => {
    const count = input.TransactItems?.length ?? 1;
    const reasons = Array.from({ length: count }, (_, i) => (i === count - 1
      ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' }));
    return new TransactionCanceledException({
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: reasons,
    });
  },
  serverError: () => new DynamoDBServiceException({
    name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'Internal server error',
  }),
  networkError: () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
} satisfies Record<string, (input: Input) => Error>;

export interface FaultInjector {
  /** Arms a rule; rules are consumed in the order added. */
  add(rule: FaultRule): void;
  /** Drops every armed rule. */
  clear(): void;
  /** Faults actually thrown since the injector was made. */
  readonly injected: number;
  /** Requests seen per step since the last `resetCounts`, for tests that count writes. */
  seen(step: Step): number;
  /** Of those, the ones DynamoDB applied (a conditional write whose condition failed changed nothing). */
  applied(step: Step): number;
  /** The writes DynamoDB applied since the last `resetCounts`: the command and the `pk` of each item it wrote. */
  appliedWrites(): Array<{ command: string; keys: string[] }>;
  resetCounts(): void;
  remove(): void;
}

/** Installs the injector on a document client (the store's own, reached by the test). */
export function injectFaults(doc: DynamoDBDocumentClient): FaultInjector {
  const rules: Array<FaultRule & { passed: number; thrown: number }> = [];
  const counts = new Map<Step, number>();
  const appliedCounts = new Map<Step, number>();
  const writes: Array<{ command: string; keys: string[] }> = [];
  let injected = 0;
  const name = `fault-injector-${Math.random().toString(36).slice(2)}`;
  const steps: Step[] = ['claim', 'stash', 'transaction', 'finish', 'get-session', 'any-write'];
  doc.middlewareStack.add((next, context) => async (args) => {
    const commandName = (context as { commandName?: string }).commandName ?? '';
    const input = args.input as Input;
    const matched = steps.filter((step) => matches(step, commandName, input));
    for (const step of matched) counts.set(step, (counts.get(step) ?? 0) + 1);
    const rule = rules.find((r) => matches(r.step, commandName, input) && r.thrown < (r.times ?? 1));
    if (!rule) {
      const output = await next(args);
      for (const step of matched) appliedCounts.set(step, (appliedCounts.get(step) ?? 0) + 1);
      if (matched.includes('any-write')) writes.push({ command: commandName, keys: operations(commandName, input).map(({ op }) => keyOf(op)) });
      return output;
    }
    if (rule.passed < (rule.skip ?? 0)) {
      rule.passed++;
      return next(args);
    }
    rule.thrown++;
    injected++;
    if (rule.afterSend) await next(args);
    throw rule.error(input);
  }, { step: 'initialize', name, priority: 'high' });
  return {
    add: (rule) => { rules.push({ ...rule, passed: 0, thrown: 0 }); },
    clear: () => { rules.length = 0; },
    get injected() { return injected; },
    seen: (step) => counts.get(step) ?? 0,
    applied: (step) => appliedCounts.get(step) ?? 0,
    appliedWrites: () => [...writes],
    resetCounts: () => { counts.clear(); appliedCounts.clear(); writes.length = 0; },
    remove: () => { doc.middlewareStack.remove(name); },
  };
}

/**
 * The document client the container's stores share (sessions, connections, webhook inbox: one
 * table, one client), which the container keeps private.
 */
export function storeClient(deps: Pick<BaseDeps, 'sessions' | 'connections' | 'inbox'>): DynamoDBDocumentClient {
  const clients = new Set([deps.sessions, deps.connections, deps.inbox].map((store) => (store as { doc?: DynamoDBDocumentClient }).doc));
  const [doc] = clients;
  if (clients.size !== 1 || !doc?.middlewareStack) {
    throw new Error('the stores do not share one `doc` client to inject faults into (functions/adapters/dynamo changed?)');
  }
  return doc;
}
