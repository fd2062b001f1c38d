// The bundles' JMESPath (functions/adapters/jmespath, aliased in lib/constructs/service-function.ts
// BUNDLING) against the real interpreter it replaces, `@aws-lambda-powertools/jmespath`: for every
// field path and document the same answer, and anything else refused rather than answered wrongly.
import { search as realSearch } from '@aws-lambda-powertools/jmespath';
import { PowertoolsFunctions as RealFunctions } from '@aws-lambda-powertools/jmespath/functions';
import fc from 'fast-check';
import { PowertoolsFunctions } from '#adapters/jmespath/functions.js';
import { search } from '#adapters/jmespath/index.js';
import { BUNDLING } from '../../../lib/constructs/service-function.js';

const field = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/);
const path = fc.array(fc.constantFrom('scope', 'payload', 'a', 'b', '_c'), { minLength: 1, maxLength: 3 }).map((fields) => fields.join('.'));
const document = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.string(), fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom('scope', 'payload', 'a', 'b', '_c'), field), tie('value'), { maxKeys: 4 })),
})).value;

describe('the bundles\' JMESPath: field paths, answered as @aws-lambda-powertools/jmespath answers them', () => {
  test('the expressions Powertools idempotency is given (functions/adapters/idempotency.ts)', () => {
    const input = { scope: 'ab12', payload: { customer_id: 'acme', products: ['company'] } };
    for (const expression of ['scope', 'payload']) {
      expect(search(expression, input)).toEqual(realSearch(expression, input, { customFunctions: new RealFunctions() }));
    }
    expect(search('payload', { scope: 'x' })).toBeNull();
  });

  test('any field path over any document: the same value as the real interpreter (property)', () => {
    fc.assert(fc.property(path, document, (expression, data) => {
      expect(search(expression, data)).toEqual(realSearch(expression, data as never));
    }), { numRuns: 2000 });
  });

  test.each(['payload[0]', 'a || b', '`1`', 'length(scope)', '"quoted"', 'a.*', '', ' scope', 'scope.'])(
    '%j is not a field path: refused, never answered', (expression) => {
      expect(() => search(expression, { scope: 'x', payload: [1] })).toThrow(/not a field path/);
    },
  );

  test('what Powertools makes of the functions module: a class, never called by a field path', () => {
    expect(new PowertoolsFunctions()).toBeInstanceOf(PowertoolsFunctions);
  });

  test('the bundling aliases both import paths Powertools idempotency uses, to these modules', () => {
    expect(BUNDLING.esbuildArgs['--alias']).toEqual([
      '@aws-lambda-powertools/jmespath/functions=./functions/adapters/jmespath/functions.ts',
      '@aws-lambda-powertools/jmespath=./functions/adapters/jmespath/index.ts',
    ]);
  });
});
