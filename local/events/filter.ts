// Lambda's event filtering, the part of its pattern syntax the stack's filters use, applied to a
// stream record as the event-source mapping applies it: every key of the pattern must match; a
// list matches when any of its values does (a string exactly, `{prefix}` as a prefix); an object
// descends (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filtering-syntax).
// An operator this does not know throws, so a new filter cannot silently match everything locally.
type Pattern = { readonly [key: string]: Pattern | readonly Matcher[] };
type Matcher = string | number | boolean | null | { readonly prefix: string };

function matchesValue(matcher: Matcher, value: unknown): boolean {
  if (matcher === null || typeof matcher !== 'object') return value === matcher;
  const operators = Object.keys(matcher);
  if (operators.length !== 1 || operators[0] !== 'prefix') throw new Error(`local/events/filter.ts does not know the filter operator ${JSON.stringify(matcher)}`);
  return typeof value === 'string' && value.startsWith(matcher.prefix);
}

export function matchesFilter(pattern: Pattern, event: unknown): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const value = event !== null && typeof event === 'object' ? (event as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(expected)) return (expected as readonly Matcher[]).some((matcher) => matchesValue(matcher, value));
    return matchesFilter(expected as Pattern, value);
  });
}
