// Configuration, validated once at cold start. A missing or bad value fails naming the variable.
import * as z from '#core/zod.js';
import { FINCH_PRODUCTS } from '#core/model.js';
import { WRITE_ROUTE_KEYS } from '#core/proxy.js';

const list = (fallback: string) => z.pipe(
  z._default(z.string(), fallback),
  z.transform((raw: string) => raw.split(',').map((item) => item.trim()).filter(Boolean)),
);
const products = (fallback: string) => z.pipe(list(fallback), z.array(z.enum(FINCH_PRODUCTS)));
const httpUrl = z.url({ protocol: /^https?$/ });

const EnvSchema = z.object({
  TABLE_NAME: z.string().check(z.minLength(3)),
  FINCH_API_BASE_URL: z._default(httpUrl, 'https://api.tryfinch.com'),
  CALLBACK_URL: httpUrl,
  ALLOWED_RETURN_ORIGINS: z.pipe(list(''), z.array(httpUrl)),
  DEFAULT_PRODUCTS: products('company,directory,individual,employment'),
  ALLOWED_PRODUCTS: products('company,directory,individual,employment,payment,pay_statement'),
  KMS_KEY_ARN: z.optional(z.string().check(z.minLength(1))),
  LOCAL_TOKEN_KEYS: z.optional(z.string().check(z.minLength(1))),
  FINCH_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  FINCH_CLIENT_ID: z.optional(z.string().check(z.minLength(1))),
  FINCH_CLIENT_SECRET: z.optional(z.string().check(z.minLength(1))),
  FINCH_WEBHOOK_SECRET: z.optional(z.string().check(z.minLength(1))),
  CUSTOMER_ID_CLAIM: z._default(z.string().check(z.minLength(1)), 'customer_id'),
  CUSTOMER_NAME_CLAIM: z._default(z.string().check(z.minLength(1)), 'customer_name'),
  ADMIN_SCOPE: z._default(z.string().check(z.regex(/^\S+$/)), 'connections:admin'),
  /** The clients (`client_id`/`azp`) whose tokens the admin scope counts for; empty: any client. */
  ADMIN_CLIENT_IDS: z.pipe(list(''), z.array(z.string().check(z.regex(/^[\x21-\x7e]+$/)))),
  FINCH_SANDBOX: z.optional(z.enum(['finch', 'provider'])),
  DYNAMODB_ENDPOINT: z.optional(httpUrl),
  /** Per Finch call; API Gateway cuts a request at 29 s and a callback may make two calls. */
  FINCH_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.gte(100), z.lte(12000)), 8000),
  STORE_BUDGET_MS: z._default(z.coerce.number().check(z.int(), z.gte(500), z.lte(20000)), 6000),
  /** Finch proxy writes to enable, as `METHOD /template` (see WRITE_ROUTE_KEYS); none by default. */
  FINCH_PROXY_WRITE_PATHS: z.pipe(list(''), z.array(z.enum(WRITE_ROUTE_KEYS))),
  /** The scope (a whole word of the JWT's `scope`) a caller needs for an enabled proxy write. */
  FINCH_PROXY_WRITE_SCOPE: z._default(z.string().check(z.regex(/^\S+$/)), 'connections:write'),
});

export type Config = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'ConfigError'; }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  // Name the variable, never echo its value (it may be a secret).
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  // In Lambda, tokens are KMS-encrypted and credentials come from Secrets Manager, always: a stray
  // local variable must never make a deployed function use a key that lives in its environment.
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    const localOnly = ['LOCAL_TOKEN_KEYS', 'FINCH_CLIENT_SECRET', 'FINCH_WEBHOOK_SECRET'].filter((name) => env[name]);
    if (localOnly.length) throw new ConfigError(`Invalid configuration: ${localOnly.join(', ')} must not be set in AWS Lambda (use KMS_KEY_ARN and FINCH_SECRET_ARN)`);
    if (!config.KMS_KEY_ARN || !config.FINCH_SECRET_ARN) throw new ConfigError('Invalid configuration: KMS_KEY_ARN and FINCH_SECRET_ARN are required in AWS Lambda');
  }
  if (!config.KMS_KEY_ARN && !config.LOCAL_TOKEN_KEYS) throw new ConfigError('Invalid configuration: KMS_KEY_ARN (or LOCAL_TOKEN_KEYS locally) is required');
  if (!config.FINCH_SECRET_ARN && !(config.FINCH_CLIENT_ID && config.FINCH_CLIENT_SECRET)) {
    throw new ConfigError('Invalid configuration: FINCH_SECRET_ARN (or FINCH_CLIENT_ID and FINCH_CLIENT_SECRET locally) is required');
  }
  return config;
}
