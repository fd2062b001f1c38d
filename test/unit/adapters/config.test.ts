import { loadConfig } from '#adapters/config.js';
import { FINCH_PRODUCTS } from '#core/model.js';
import { callerSettingsOf } from '#http/wiring.js';

const base = { TABLE_NAME: 'connections', CALLBACK_URL: 'https://api.example/connect/callback' };

describe('configuration, validated at cold start', () => {
  test('a bad value fails naming the variable, never echoing it', () => {
    expect(() => loadConfig({ ...base, CALLBACK_URL: 'not a url with secret-ish-value', KMS_KEY_ARN: 'k', FINCH_SECRET_ARN: 's' }))
      .toThrow(/CALLBACK_URL/);
    try { loadConfig({ ...base, CALLBACK_URL: 'secret-ish-value', KMS_KEY_ARN: 'k', FINCH_SECRET_ARN: 's' }); } catch (e) {
      expect((e as Error).message).not.toContain('secret-ish-value');
    }
    expect(() => loadConfig({ ...base, KMS_KEY_ARN: 'k', FINCH_SECRET_ARN: 's', DEFAULT_PRODUCTS: 'company,payroll' })).toThrow(/DEFAULT_PRODUCTS/);
  });

  test('a key and Finch credentials are required', () => {
    expect(() => loadConfig({ ...base, FINCH_SECRET_ARN: 's' })).toThrow(/KMS_KEY_ARN/);
    expect(() => loadConfig({ ...base, KMS_KEY_ARN: 'k' })).toThrow(/FINCH_SECRET_ARN/);
  });

  test('in AWS Lambda, local keys and secrets are refused and KMS and Secrets Manager are required', () => {
    const lambda = { ...base, AWS_LAMBDA_FUNCTION_NAME: 'callback', KMS_KEY_ARN: 'arn:aws:kms:k', FINCH_SECRET_ARN: 'arn:aws:secretsmanager:s' };
    expect(loadConfig(lambda).KMS_KEY_ARN).toBe('arn:aws:kms:k');
    expect(() => loadConfig({ ...lambda, LOCAL_TOKEN_KEYS: 'k1=AAAA' })).toThrow(/LOCAL_TOKEN_KEYS must not be set in AWS Lambda/);
    expect(() => loadConfig({ ...lambda, FINCH_CLIENT_SECRET: 'x' })).toThrow(/FINCH_CLIENT_SECRET/);
    const { KMS_KEY_ARN: _k, ...withoutKms } = lambda;
    expect(() => loadConfig({ ...withoutKms, LOCAL_TOKEN_KEYS: undefined })).toThrow(/required in AWS Lambda/);
  });

  test('a container validates the variables of the parts it builds and no others, and in Lambda still refuses local-only ones', () => {
    // The data proxy's parts: no client credentials, no session settings.
    const proxyParts = ['store', 'caller', 'finch', 'cipher', 'proxy'] as const;
    const lambda = { TABLE_NAME: 'connections', AWS_LAMBDA_FUNCTION_NAME: 'finch-proxy', KMS_KEY_ARN: 'arn:aws:kms:k' };
    const config = loadConfig({ ...lambda, CALLBACK_URL: 'not a url', DEFAULT_PRODUCTS: 'payroll' }, proxyParts);
    expect(config).toMatchObject({ TABLE_NAME: 'connections', KMS_KEY_ARN: 'arn:aws:kms:k', FINCH_PROXY_WRITE_PATHS: [] });
    expect(config).not.toHaveProperty('CALLBACK_URL');
    expect(() => loadConfig({ ...lambda, FINCH_PROXY_WRITE_SCOPE: 'two words' }, proxyParts)).toThrow(/FINCH_PROXY_WRITE_SCOPE/);
    expect(() => loadConfig({ ...lambda, FINCH_CLIENT_SECRET: 'x' }, proxyParts)).toThrow(/FINCH_CLIENT_SECRET must not be set in AWS Lambda/);
    const { KMS_KEY_ARN: _k, ...withoutKms } = lambda;
    expect(() => loadConfig(withoutKms, proxyParts)).toThrow(/KMS_KEY_ARN is required in AWS Lambda/);
    // reauthenticate's parts: no token cipher, so no key is required.
    const sessionParts = ['store', 'caller', 'finch', 'credentials', 'settings'] as const;
    expect(loadConfig({ ...base, AWS_LAMBDA_FUNCTION_NAME: 'reauthenticate', FINCH_SECRET_ARN: 'arn:aws:secretsmanager:s' }, sessionParts))
      .not.toHaveProperty('KMS_KEY_ARN');
    expect(() => loadConfig({ ...base, AWS_LAMBDA_FUNCTION_NAME: 'reauthenticate', FINCH_SECRET_ARN: 'arn:aws:secretsmanager:s', LOCAL_TOKEN_KEYS: 'k1=AAAA' }, sessionParts))
      .toThrow(/LOCAL_TOKEN_KEYS must not be set in AWS Lambda/);
  });

  test('the events function\'s part: EVENT_BUS_NAME required, EVENTBRIDGE_ENDPOINT local only; the HTTP functions need neither', () => {
    expect(loadConfig({ EVENT_BUS_NAME: 'finch-connections-local', EVENTBRIDGE_ENDPOINT: 'http://127.0.0.1:4011' }, ['events']))
      .toEqual({ EVENT_BUS_NAME: 'finch-connections-local', EVENTBRIDGE_ENDPOINT: 'http://127.0.0.1:4011' });
    expect(() => loadConfig({}, ['events'])).toThrow(/EVENT_BUS_NAME/);
    expect(() => loadConfig({ EVENT_BUS_NAME: 'bus', EVENTBRIDGE_ENDPOINT: 'not a url' }, ['events'])).toThrow(/EVENTBRIDGE_ENDPOINT/);
    const lambda = { AWS_LAMBDA_FUNCTION_NAME: 'events', EVENT_BUS_NAME: 'FinchConnections-connection-events' };
    expect(loadConfig(lambda, ['events'])).toEqual({ EVENT_BUS_NAME: 'FinchConnections-connection-events' });
    expect(() => loadConfig({ ...lambda, EVENTBRIDGE_ENDPOINT: 'http://127.0.0.1:4011' }, ['events'])).toThrow(/EVENTBRIDGE_ENDPOINT must not be set in AWS Lambda/);
    // Any deployed function refuses it, as it refuses the other local-only variables.
    expect(() => loadConfig({ ...base, AWS_LAMBDA_FUNCTION_NAME: 'callback', KMS_KEY_ARN: 'k', FINCH_SECRET_ARN: 's', EVENTBRIDGE_ENDPOINT: 'http://127.0.0.1:1' }))
      .toThrow(/EVENTBRIDGE_ENDPOINT must not be set in AWS Lambda/);
    expect(loadConfig({ ...base, KMS_KEY_ARN: 'k', FINCH_SECRET_ARN: 's' })).not.toHaveProperty('EVENT_BUS_NAME');
  });

  test('ADMIN_CLIENT_IDS is a comma-separated list of client ids that reaches the caller settings; empty means any client', () => {
    const env = { ...base, KMS_KEY_ARN: 'k', FINCH_SECRET_ARN: 's' };
    expect(loadConfig({ ...env, ADMIN_CLIENT_IDS: ' svc-billing, 4f1c2a9e7b ,' }).ADMIN_CLIENT_IDS).toEqual(['svc-billing', '4f1c2a9e7b']);
    expect([...callerSettingsOf(loadConfig({ ...env, ADMIN_CLIENT_IDS: 'svc-billing,svc-ops' })).adminClientIds]).toEqual(['svc-billing', 'svc-ops']);
    expect(callerSettingsOf(loadConfig(env)).adminClientIds.size).toBe(0);
    expect(() => loadConfig({ ...env, ADMIN_CLIENT_IDS: 'svc billing' })).toThrow(/ADMIN_CLIENT_IDS/);
  });
});

describe('each kind of variable (read without zod: functions/adapters/config.ts says why)', () => {
  const env = { ...base, KMS_KEY_ARN: 'k', FINCH_SECRET_ARN: 's' };
  const problemOf = (extra: Record<string, string>) => {
    try {
      loadConfig({ ...env, ...extra });
    } catch (error) {
      return (error as Error).message;
    }
    return null;
  };

  test('defaults apply only to an unset variable', () => {
    const config = loadConfig(env);
    expect(config).toMatchObject({
      CUSTOMER_ID_CLAIM: 'customer_id', ADMIN_SCOPE: 'connections:admin', ADMIN_CLIENT_IDS: [],
      FINCH_API_BASE_URL: 'https://api.tryfinch.com', FINCH_TIMEOUT_MS: 8000, FINCH_BUDGET_RESERVE: 0.25, FINCH_BUDGET_BURST: 0.25,
      ALLOWED_RETURN_ORIGINS: [], DEFAULT_PRODUCTS: ['company', 'directory', 'individual', 'employment'],
      ALLOWED_PRODUCTS: ['company', 'directory', 'individual', 'employment', 'payment', 'pay_statement'],
      STORE_BUDGET_MS: 6000, FINCH_PROXY_WRITE_PATHS: [], FINCH_PROXY_WRITE_SCOPE: 'connections:write',
    });
    expect(config.FINCH_SANDBOX).toBeUndefined();
    expect(config.DYNAMODB_ENDPOINT).toBeUndefined();
    expect(config.FINCH_RATE_LIMITS.ip).toEqual({ limit: 1000, periodSeconds: 300 });
    // Set but empty is a value, and not a good one.
    expect(problemOf({ CUSTOMER_ID_CLAIM: '' })).toMatch(/CUSTOMER_ID_CLAIM: must not be empty/);
    expect(problemOf({ FINCH_TIMEOUT_MS: '' })).toMatch(/FINCH_TIMEOUT_MS: must be a number/);
  });

  test.each([
    ['TABLE_NAME', 'ab', /at least 3/],
    ['DYNAMODB_ENDPOINT', 'ftp://127.0.0.1:8000', /http or https URL/],
    ['CALLBACK_URL', '/connect/callback', /http or https URL/],
    ['FINCH_API_BASE_URL', 'javascript:alert(1)', /http or https URL/],
    ['FINCH_TIMEOUT_MS', 'abc', /must be a number/],
    ['FINCH_TIMEOUT_MS', '99', /at least 100/],
    ['FINCH_TIMEOUT_MS', '12001', /at most 12000/],
    ['FINCH_TIMEOUT_MS', '150.5', /whole number/],
    ['FINCH_TIMEOUT_MS', 'Infinity', /must be a number/],
    ['STORE_BUDGET_MS', '499', /at least 500/],
    ['FINCH_BUDGET_RESERVE', '0.95', /at most 0.9/],
    ['FINCH_BUDGET_BURST', '0', /more than 0/],
    ['FINCH_RATE_LIMITS', 'nonsense', /FINCH_RATE_LIMITS: /],
    ['ADMIN_SCOPE', 'two words', /one word/],
    ['ALLOWED_RETURN_ORIGINS', 'https://app.example,not-a-url', /item 2 must be an http or https URL/],
    ['ALLOWED_PRODUCTS', 'company,payroll', /item 2 must be one of Finch's products/],
    ['FINCH_SANDBOX', 'sandbox', /must be finch or provider/],
    ['FINCH_PROXY_WRITE_PATHS', 'POST /employer/nothing', /item 1 must be one of the proxy's write routes/],
    ['FINCH_SECRET_ARN', '', /must not be empty/],
  ])('%s=%j is refused, naming the variable and what is wrong, never the value', (name, value, says) => {
    const problem = problemOf({ [name]: value });
    expect(problem).toMatch(new RegExp(`^Invalid configuration: ${name}: `));
    expect(problem).toMatch(says);
    // Except the budget's overrides: parseRateLimits quotes the item to fix, and limits are no secret.
    if (value.length > 3 && name !== 'FINCH_RATE_LIMITS') expect(problem).not.toContain(value);
  });

  test('every problem is named at once', () => {
    expect(problemOf({ TABLE_NAME: 'ab', FINCH_TIMEOUT_MS: 'x', ALLOWED_PRODUCTS: 'payroll' }))
      .toBe(`Invalid configuration: TABLE_NAME: must be at least 3 characters; FINCH_TIMEOUT_MS: must be a number; ALLOWED_PRODUCTS: item 1 must be one of Finch's products (${FINCH_PRODUCTS.join(', ')})`);
  });

  test('values are read as given: URLs less surrounding spaces, list items trimmed, numbers parsed', () => {
    const config = loadConfig({
      ...env, CALLBACK_URL: '  https://api.example/connect/callback ', ALLOWED_RETURN_ORIGINS: ' https://a.example , http://127.0.0.1:3000,',
      FINCH_TIMEOUT_MS: '2500', FINCH_BUDGET_BURST: '1', FINCH_SANDBOX: 'provider', FINCH_RATE_LIMITS: 'ip=500/300',
    });
    expect(config).toMatchObject({
      CALLBACK_URL: 'https://api.example/connect/callback', ALLOWED_RETURN_ORIGINS: ['https://a.example', 'http://127.0.0.1:3000'],
      FINCH_TIMEOUT_MS: 2500, FINCH_BUDGET_BURST: 1, FINCH_SANDBOX: 'provider',
    });
    expect(config.FINCH_RATE_LIMITS.ip).toEqual({ limit: 500, periodSeconds: 300 });
  });
});
