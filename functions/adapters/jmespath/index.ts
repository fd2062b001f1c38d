// What Powertools idempotency imports from `@aws-lambda-powertools/jmespath`, in the deployed
// bundles only: lib/constructs/service-function.ts BUNDLING aliases the package here, and the tests,
// which run the sources, keep the real one.
//
// Why: the package is 23 KiB of create-session's bundle and ~8 M instructions of its cold import
// (a full JMESPath interpreter whose 26 function decorators run at module scope), for two expressions
// that are field names: `scope` and `payload` (functions/adapters/idempotency.ts). BENCHMARKS.md
// "Issue 18: create-session's JMESPath" has the numbers.
//
// Safe by construction: an expression that is not a plain field path throws (never a wrong key),
// and a Powertools release that imports anything else from the package fails the bundling
// ("No matching export"), so `cdk synth` and the bundle tests stop it.

/** Dotted field names, JMESPath's identifiers without quoting: `scope`, `a.b`. */
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * JMESPath's `search` for field paths (https://jmespath.org/specification.html#identifiers): the
 * value at the path, or null where a step is missing or not an object, as JMESPath answers.
 */
export function search(expression: string, data: unknown): unknown {
  if (!FIELD_PATH.test(expression)) {
    throw new Error(`JMESPath expression "${expression}" is not a field path; the bundles carry field paths only (functions/adapters/jmespath)`);
  }
  let value: unknown = data;
  for (const field of expression.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, field)) return null;
    value = (value as Record<string, unknown>)[field];
  }
  return value ?? null;
}
