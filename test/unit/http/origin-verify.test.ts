// The origin header check on its own (functions/http/origin-verify.ts); through the real handlers
// in test/integration/origin-verify.test.ts.
import { ConfigError } from '#adapters/config.js';
import { answerOf } from '#http/errors.js';
import { ORIGIN_VERIFY_HEADER, originCheck } from '#http/origin-verify.js';

const CURRENT = 'Qm9uZ2VkQ3VycmVudFZhbHVlT2ZUaGVPcmlnaW5IZWFkZXJGb3JUZXN0czAx';
const ROTATING = 'Um90YXRpbmdWYWx1ZU9mVGhlT3JpZ2luSGVhZGVyRm9yVGVzdHNPbmx5MDI';

function refusal(check: ReturnType<typeof originCheck>, headers: Record<string, string | undefined> | undefined) {
  try {
    check!(headers);
  } catch (error) {
    const answer = answerOf(error);
    return answer ? { status: answer.status, code: answer.code } : error;
  }
  return undefined;
}

describe('ORIGIN_VERIFY, read at cold start', () => {
  test('unset (the local stack, tests, waf off): no check at all', () => {
    expect(originCheck({})).toBeUndefined();
    expect(originCheck({ ORIGIN_VERIFY: '', ORIGIN_VERIFY_ROTATING: '' })).toBeUndefined();
  });

  test('a bad value fails naming the variable, never echoing it', () => {
    expect(() => originCheck({ ORIGIN_VERIFY_ROTATING: ROTATING })).toThrow(/ORIGIN_VERIFY_ROTATING is set without ORIGIN_VERIFY/);
    for (const [name, env] of [
      ['ORIGIN_VERIFY', { ORIGIN_VERIFY: 'short-secret-value' }],
      ['ORIGIN_VERIFY', { ORIGIN_VERIFY: `${CURRENT} with spaces` }],
      ['ORIGIN_VERIFY_ROTATING', { ORIGIN_VERIFY: CURRENT, ORIGIN_VERIFY_ROTATING: 'short-secret-value' }],
    ] as const) {
      let thrown: unknown;
      try { originCheck(env); } catch (error) { thrown = error; }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toContain(`${name} must be`);
      expect((thrown as Error).message).not.toContain('short-secret-value');
      expect((thrown as Error).message).not.toContain(CURRENT);
    }
  });
});

describe('the check', () => {
  const check = originCheck({ ORIGIN_VERIFY: CURRENT, ORIGIN_VERIFY_ROTATING: ROTATING });
  const only = originCheck({ ORIGIN_VERIFY: CURRENT });

  test('passes the value CloudFront sends, and the other one only while it is configured', () => {
    expect(refusal(check, { [ORIGIN_VERIFY_HEADER]: CURRENT })).toBeUndefined();
    expect(refusal(check, { [ORIGIN_VERIFY_HEADER]: ROTATING })).toBeUndefined();
    expect(refusal(only, { [ORIGIN_VERIFY_HEADER]: CURRENT })).toBeUndefined();
    expect(refusal(only, { [ORIGIN_VERIFY_HEADER]: ROTATING })).toEqual({ status: 403, code: 'forbidden' });
  });

  test('refuses no header, no headers, an empty or wrong value, a prefix, a longer value, another case', () => {
    for (const headers of [undefined, {}, { [ORIGIN_VERIFY_HEADER]: '' }, { [ORIGIN_VERIFY_HEADER]: undefined },
      { [ORIGIN_VERIFY_HEADER]: CURRENT.slice(0, -1) }, { [ORIGIN_VERIFY_HEADER]: `${CURRENT}0` },
      { [ORIGIN_VERIFY_HEADER]: CURRENT.toLowerCase() }, { [ORIGIN_VERIFY_HEADER]: `${CURRENT},${ROTATING}` },
      { 'x-origin-verify-2': CURRENT }]) {
      expect([headers, refusal(check, headers)]).toEqual([headers, { status: 403, code: 'forbidden' }]);
    }
  });
});
