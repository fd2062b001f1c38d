// `@aws-lambda-powertools/jmespath/functions` in the deployed bundles (see ./index.ts): Powertools
// idempotency makes one as its default custom functions, which a field path never calls.
export class PowertoolsFunctions {}
