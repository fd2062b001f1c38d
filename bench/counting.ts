// Round trips counted where they happen: SDK middleware on a client's own stack (commands as the
// code sends them, and HTTP attempts, so a retry shows), and small statistics for the timings.

/** The slice of an AWS SDK v3 client the counters use (a document client shares its client's stack). */
export interface SdkClientLike {
  middlewareStack: {
    add(middleware: (next: any, context: any) => (args: any) => Promise<any>, options: Record<string, unknown>): void;
  };
}

export type Counts = Record<string, number>;

export interface CallCounter {
  /** Commands sent, by name (`PutItemCommand`, `GetSecretValueCommand`, …). */
  commands: Counts;
  /** HTTP attempts (a retried command counts once per attempt); stubbed commands make none. */
  attempts: Counts;
}

/**
 * Counts every command the client sends (initialize step: once per `send`) and every HTTP attempt
 * (deserialize step: inside the retry loop). `counter`: another client's, to count both together.
 */
export function countCalls(client: SdkClientLike, counter: CallCounter = { commands: {}, attempts: {} }): CallCounter {
  const bump = (counts: Counts, name: string) => { counts[name] = (counts[name] ?? 0) + 1; };
  client.middlewareStack.add((next, context) => async (args) => {
    bump(counter.commands, String(context.commandName));
    return next(args);
  }, { step: 'initialize', priority: 'high', name: 'benchCommandCounter' });
  client.middlewareStack.add((next, context) => async (args) => {
    bump(counter.attempts, String(context.commandName));
    return next(args);
  }, { step: 'deserialize', priority: 'high', name: 'benchAttemptCounter' });
  return counter;
}

/**
 * Answers the named commands without any network (after the counter has seen them), the way a
 * service stub would: `answers.GetSecretValueCommand = (input) => ({ SecretString: '…' })`.
 */
export function answerCalls(client: SdkClientLike, answers: Record<string, (input: any) => Record<string, unknown>>): void {
  client.middlewareStack.add((next, context) => async (args) => {
    const answer = answers[String(context.commandName)];
    if (!answer) return next(args);
    return { output: { $metadata: { httpStatusCode: 200 }, ...answer(args.input) }, response: {} };
  }, { step: 'initialize', priority: 'low', name: 'benchStubAnswers' });
}

export const total = (counts: Counts) => Object.values(counts).reduce((sum, n) => sum + n, 0);

/** `after - before`, per name, leaving out zeros. */
export function delta(after: Counts, before: Counts): Counts {
  const out: Counts = {};
  for (const [name, n] of Object.entries(after)) {
    const d = n - (before[name] ?? 0);
    if (d !== 0) out[name] = d;
  }
  return out;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Linear interpolation between closest ranks; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}
