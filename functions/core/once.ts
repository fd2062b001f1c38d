/**
 * `make` run on the first call and its value kept for every later one: for what only some requests
 * of a function need (a client, a schema), so a container whose routes never need it never builds
 * it. Not for what the first request needs anyway: Lambda's init phase runs with more CPU.
 */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
