// The stack's settings, read once from CDK context (cdk.json or `-c key=value`) and validated
// before anything is built, so a bad value fails synth with a message naming the key.
import type { Node } from 'constructs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { parseRateLimits } from '#core/finch-budget.js';
import { DEFAULT_METRICS_NAMESPACE } from '#core/metrics.js';
import { FINCH_PRODUCTS, type FinchProduct } from '#core/model.js';
import { WRITE_ROUTE_KEYS } from '#core/proxy-routes.js';

export interface StackConfig {
  stackName: string;
  /** Relaxes RETAIN and deletion protection, and allows a placeholder JWT issuer. */
  dev: boolean;
  jwtIssuer: string;
  jwtAudience: string[];
  allowedReturnOrigins: string[];
  /** Import this secret instead of creating one. */
  finchSecretArn?: string;
  finchApiBaseUrl: string;
  finchSandbox?: 'finch' | 'provider';
  customerIdClaim: string;
  customerNameClaim: string;
  adminScope: string;
  /** ADMIN_CLIENT_IDS: the clients (`client_id`/`azp`) whose tokens the admin scope counts for; empty: any. */
  adminClientIds: string[];
  defaultProducts: FinchProduct[];
  allowedProducts: FinchProduct[];
  alarmTopicArn?: string;
  alarmEmail?: string;
  /** CloudFront + AWS WAF rate-based front (HTTP APIs take no WAF directly). */
  waf: boolean;
  /** WAF rate-based rule: requests per IP per 5 minutes, every route but the webhook. */
  wafRateLimit: number;
  /** The same for POST /webhooks/finch: Finch delivers from a few IPs, more than wafRateLimit at a fleet's peak. */
  wafWebhookRateLimit: number;
  /** Secrets Manager version ids of the origin header (waf=true): CloudFront sends the first, the functions accept each (at most 2). */
  originVerifyVersions: string[];
  /** The public origin users reach (a custom domain mapped to the API); replaces the default URL in CALLBACK_URL and outputs. */
  publicBaseUrl?: string;
  /** Finch writes the proxy may forward (`METHOD /template` of WRITE_ROUTE_KEYS); none by default. */
  finchProxyWritePaths: string[];
  /** The JWT scope a caller needs for an enabled proxy write. */
  finchProxyWriteScope: string;
  /** Per Finch call (FINCH_TIMEOUT_MS); the functions' timeouts are sized for the default. */
  finchTimeoutMs: number;
  /** How long the callback keeps retrying its final store (STORE_BUDGET_MS). */
  storeBudgetMs: number;
  /**
   * The shared Finch budget (functions/core/finch-budget.ts): overrides of Finch's documented limits
   * as `bucket=limit[/seconds]` (FINCH_RATE_LIMITS, empty: Finch's numbers), the share of each burst
   * background callers leave (FINCH_BUDGET_RESERVE) and the share of each limit that may go at once
   * (FINCH_BUDGET_BURST).
   */
  finchRateLimits: string;
  finchBudgetReserve: number;
  finchBudgetBurst: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  logRetention: RetentionDays;
  /** The CloudWatch namespace of the business metrics (POWERTOOLS_METRICS_NAMESPACE), the dashboard's and alarms' too. */
  metricsNamespace: string;
  throttle: { rateLimit: number; burstLimit: number };
  /** The routes without a JWT (the redirect callback, the result page, the webhook). */
  /** `GET /connect/callback` and `GET /connect/result`: employers' browsers, no JWT. */
  publicThrottle: { rateLimit: number; burstLimit: number };
  /** `POST /webhooks/finch`: Finch's servers, HMAC-signed. */
  webhookThrottle: { rateLimit: number; burstLimit: number };
  /** Days the connection events' archive keeps each event for replay. */
  eventsArchiveRetentionDays: number;
  /** The application's https endpoint every connection event is POSTed to (an EventBridge API destination); unset: none. */
  eventsWebhookUrl?: string;
  /** An existing secret holding the events webhook header's value (with eventsWebhookUrl); unset: one is generated. */
  eventsWebhookSecretArn?: string;
  /** Minutes between two runs of the reconciler (its schedule's rate; RECONCILE_INTERVAL_MINUTES). */
  reconcileIntervalMinutes: number;
  /** At most this many connections a reconciler run (RECONCILE_MAX_CONNECTIONS). */
  reconcileMaxConnections: number;
}

export class StackConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'StackConfigError'; }
}

/** A secret's complete ARN (with Secrets Manager's 6-character suffix), so a grant or reference names exactly one secret. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/** Used only by dev stacks that have no identity provider yet; never accepted otherwise. */
export const DEV_PLACEHOLDER_ISSUER = 'https://issuer.example.com/';
const DEFAULT_PRODUCTS = 'company,directory,individual,employment';
const ALLOWED_PRODUCTS = 'company,directory,individual,employment,payment,pay_statement';

export function readStackConfig(node: Node): StackConfig {
  const read = (key: string): unknown => node.tryGetContext(key);
  const dev = bool(read('dev'), 'dev');

  const jwtIssuer = str(read('jwtIssuer')) ?? '';
  if (isPlaceholderIssuer(jwtIssuer)) {
    if (!dev) {
      throw new StackConfigError(
        `jwtIssuer is ${jwtIssuer ? `a placeholder (${jwtIssuer})` : 'missing'}. `
        + 'Pass your identity provider\'s issuer URL, e.g. '
        + '`npx cdk deploy -c jwtIssuer=https://YOUR_TENANT.auth0.com/ -c jwtAudience=YOUR_API_AUDIENCE`, '
        + 'or add `-c dev=true` for a throwaway dev stack.',
      );
    }
  } else if (!isHttpsUrl(jwtIssuer)) {
    throw new StackConfigError(`jwtIssuer must be an https URL (got ${jwtIssuer}).`);
  }

  const jwtAudience = list(read('jwtAudience'), 'jwtAudience');
  if (jwtAudience.length === 0 && !dev) throw new StackConfigError('jwtAudience is required: the audience (aud) your identity provider puts in tokens for this API.');

  const allowedReturnOrigins = list(read('allowedReturnOrigins'), 'allowedReturnOrigins').map((origin) => {
    // Origins only: scheme, host and port, the exact form browsers send in the Origin header.
    let url: URL | undefined;
    try { url = new URL(origin); } catch { /* reported below */ }
    const local = url && url.protocol === 'http:' && ['localhost', '127.0.0.1'].includes(url.hostname);
    if (!url || (url.protocol !== 'https:' && !local) || url.origin !== origin.replace(/\/$/, '')) {
      throw new StackConfigError(`allowedReturnOrigins: ${origin} must be an origin like https://app.example.com (no path).`);
    }
    return url.origin;
  });

  const defaultProducts = products(read('defaultProducts') ?? DEFAULT_PRODUCTS, 'defaultProducts');
  const allowedProducts = products(read('allowedProducts') ?? ALLOWED_PRODUCTS, 'allowedProducts');
  const outside = defaultProducts.filter((product) => !allowedProducts.includes(product));
  if (outside.length > 0) throw new StackConfigError(`defaultProducts: ${outside.join(', ')} not in allowedProducts.`);

  // Identity providers that grant a defined scope to any app that asks (Cognito client
  // credentials, Auth0) make the admin scope alone too weak: name the admin clients (lib/README.md).
  const adminClientIds = list(read('adminClientIds'), 'adminClientIds');
  for (const id of adminClientIds) {
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(id)) throw new StackConfigError(`adminClientIds: "${id}" is not a client id (printable ASCII, no spaces or commas).`);
  }

  const finchApiBaseUrl = str(read('finchApiBaseUrl')) ?? 'https://api.tryfinch.com';
  if (!isHttpsUrl(finchApiBaseUrl)) throw new StackConfigError('finchApiBaseUrl must be an https URL.');

  const finchSandbox = str(read('finchSandbox'));
  if (finchSandbox !== undefined && finchSandbox !== 'finch' && finchSandbox !== 'provider') {
    throw new StackConfigError('finchSandbox must be "finch" or "provider" when set.');
  }

  const finchSecretArn = str(read('finchSecretArn'));
  if (finchSecretArn !== undefined && !SECRET_ARN.test(finchSecretArn)) {
    throw new StackConfigError('finchSecretArn must be the secret\'s complete ARN (ending in -XXXXXX).');
  }

  const alarmTopicArn = str(read('alarmTopicArn'));
  if (alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/.test(alarmTopicArn)) {
    throw new StackConfigError('alarmTopicArn must be an SNS topic ARN.');
  }
  const alarmEmail = str(read('alarmEmail'));
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) throw new StackConfigError('alarmEmail must be an email address.');

  const publicBaseUrl = str(read('publicBaseUrl'));
  if (publicBaseUrl !== undefined && (!isHttpsUrl(publicBaseUrl) || new URL(publicBaseUrl).origin !== publicBaseUrl.replace(/\/$/, ''))) {
    throw new StackConfigError('publicBaseUrl must be an https origin like https://connect.example.com (no path).');
  }

  const finchProxyWritePaths = list(read('finchProxyWritePaths'), 'finchProxyWritePaths').map((route) => route.replace(/\s+/g, ' '));
  const unknownWrites = finchProxyWritePaths.filter((route) => !WRITE_ROUTE_KEYS.includes(route));
  if (unknownWrites.length > 0) {
    throw new StackConfigError(`finchProxyWritePaths: ${unknownWrites.join(', ')} is not a proxy write route (one of: ${WRITE_ROUTE_KEYS.join(', ')}).`);
  }
  // The function timeouts (lib/constructs/functions.ts) are sized for 8 s per Finch call and a 6 s
  // store budget inside API Gateway's 30 s: these may be lowered, not raised.
  const finchTimeoutMs = int(read('finchTimeoutMs'), 'finchTimeoutMs', 8000, 100);
  if (finchTimeoutMs > 8000) throw new StackConfigError('finchTimeoutMs must be at most 8000 (the functions\' timeouts are sized for it).');
  const storeBudgetMs = int(read('storeBudgetMs'), 'storeBudgetMs', 6000, 500);
  if (storeBudgetMs > 6000) throw new StackConfigError('storeBudgetMs must be at most 6000 (the callback\'s timeout is sized for it).');

  // Finch's limits are the application's, shared by every function: a lower number is safe, a higher
  // one only if Finch raised this application's (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits).
  const finchRateLimits = list(read('finchRateLimits'), 'finchRateLimits').join(',');
  const parsedLimits = parseRateLimits(finchRateLimits);
  if ('error' in parsedLimits) throw new StackConfigError(`finchRateLimits: ${parsedLimits.error}.`);
  const finchBudgetReserve = fraction(read('finchBudgetReserve'), 'finchBudgetReserve', 0.25, 0, 0.9);
  const finchBudgetBurst = fraction(read('finchBudgetBurst'), 'finchBudgetBurst', 0.25, 0.01, 1);

  // Secrets Manager version ids (ClientRequestToken: 32 to 64 letters, digits and hyphens), as the
  // rotation steps of lib/README.md pass them.
  const originVerifyVersions = list(read('originVerifyVersions'), 'originVerifyVersions');
  if (originVerifyVersions.length > 2 || new Set(originVerifyVersions).size !== originVerifyVersions.length
    || originVerifyVersions.some((id) => !/^[A-Za-z0-9-]{32,64}$/.test(id))) {
    throw new StackConfigError('originVerifyVersions must be one or two distinct Secrets Manager version ids (the one CloudFront sends first).');
  }

  // The events webhook carries its secret in a header: over https only, like every URL we call.
  const eventsWebhookUrl = str(read('eventsWebhookUrl'));
  if (eventsWebhookUrl !== undefined && !isHttpsUrl(eventsWebhookUrl)) throw new StackConfigError('eventsWebhookUrl must be an https URL.');
  const eventsWebhookSecretArn = str(read('eventsWebhookSecretArn'));
  if (eventsWebhookSecretArn !== undefined) {
    if (eventsWebhookUrl === undefined) throw new StackConfigError('eventsWebhookSecretArn is the secret of eventsWebhookUrl: set that too, or neither.');
    if (!SECRET_ARN.test(eventsWebhookSecretArn)) throw new StackConfigError('eventsWebhookSecretArn must be the secret\'s complete ARN (ending in -XXXXXX).');
  }
  const eventsArchiveRetentionDays = int(read('eventsArchiveRetentionDays'), 'eventsArchiveRetentionDays', 30, 1);

  // The reconciler (functions/core/reconcile.ts): a day at most between runs, and a run bounded
  // well within what its 55 s and the background share of Finch's per-IP limit allow.
  const reconcileIntervalMinutes = int(read('reconcileIntervalMinutes'), 'reconcileIntervalMinutes', 15, 1);
  if (reconcileIntervalMinutes > 1440) throw new StackConfigError('reconcileIntervalMinutes must be at most 1440 (a day).');
  const reconcileMaxConnections = int(read('reconcileMaxConnections'), 'reconcileMaxConnections', 200, 1);
  if (reconcileMaxConnections > 1000) throw new StackConfigError('reconcileMaxConnections must be at most 1000.');

  const logLevel = (str(read('logLevel')) ?? 'INFO').toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) throw new StackConfigError('logLevel must be DEBUG, INFO, WARN or ERROR.');
  const logRetention = int(read('logRetentionDays'), 'logRetentionDays', RetentionDays.ONE_MONTH);
  const metricsNamespace = str(read('metricsNamespace')) ?? DEFAULT_METRICS_NAMESPACE;
  // CloudWatch's namespace characters (PutMetricData: alphanumerics, . - _ / # : and spaces), no AWS/ prefix.
  if (!/^[A-Za-z0-9._\-/#:]{1,255}$/.test(metricsNamespace) || metricsNamespace.startsWith('AWS/')) {
    throw new StackConfigError('metricsNamespace must be 1-255 of A-Z a-z 0-9 . - _ / # : and not start with AWS/.');
  }
  if (!(Object.values(RetentionDays) as unknown[]).includes(logRetention)) {
    throw new StackConfigError('logRetentionDays must be one of CloudWatch Logs\' retention periods (1, 3, 5, 7, 14, 30, 60, 90, …).');
  }

  return {
    stackName: str(read('stackName')) ?? 'FinchConnections',
    dev,
    jwtIssuer: jwtIssuer || DEV_PLACEHOLDER_ISSUER,
    jwtAudience: jwtAudience.length > 0 ? jwtAudience : ['finch-connections'],
    allowedReturnOrigins,
    finchSecretArn,
    finchApiBaseUrl,
    finchSandbox: finchSandbox as StackConfig['finchSandbox'],
    customerIdClaim: str(read('customerIdClaim')) ?? 'customer_id',
    customerNameClaim: str(read('customerNameClaim')) ?? 'customer_name',
    adminScope: scope(str(read('adminScope')) ?? 'connections:admin'),
    adminClientIds,
    defaultProducts,
    allowedProducts,
    alarmTopicArn,
    alarmEmail,
    waf: bool(read('waf'), 'waf'),
    wafRateLimit: int(read('wafRateLimit'), 'wafRateLimit', 500, 10),
    wafWebhookRateLimit: int(read('wafWebhookRateLimit'), 'wafWebhookRateLimit', 5000, 10),
    originVerifyVersions,
    publicBaseUrl: publicBaseUrl?.replace(/\/$/, ''),
    finchProxyWritePaths,
    finchProxyWriteScope: scope(str(read('finchProxyWriteScope')) ?? 'connections:write', 'finchProxyWriteScope'),
    finchTimeoutMs,
    storeBudgetMs,
    finchRateLimits,
    finchBudgetReserve,
    finchBudgetBurst,
    logLevel: logLevel as StackConfig['logLevel'],
    logRetention: logRetention as RetentionDays,
    metricsNamespace,
    throttle: {
      rateLimit: int(read('throttleRateLimit'), 'throttleRateLimit', 50, 1),
      burstLimit: int(read('throttleBurstLimit'), 'throttleBurstLimit', 100, 1),
    },
    // Sized for a real peak with headroom (lib/README.md "Throttles"): route limits are shared by
    // every client, so they cap cost and concurrency, not one client; the per-IP defence is the WAF.
    publicThrottle: {
      rateLimit: int(read('publicThrottleRateLimit'), 'publicThrottleRateLimit', 25, 1),
      burstLimit: int(read('publicThrottleBurstLimit'), 'publicThrottleBurstLimit', 50, 1),
    },
    webhookThrottle: {
      rateLimit: int(read('webhookThrottleRateLimit'), 'webhookThrottleRateLimit', 50, 1),
      burstLimit: int(read('webhookThrottleBurstLimit'), 'webhookThrottleBurstLimit', 100, 1),
    },
    eventsArchiveRetentionDays,
    eventsWebhookUrl,
    eventsWebhookSecretArn,
    reconcileIntervalMinutes,
    reconcileMaxConnections,
  };
}

/**
 * Missing, not https, or one of the names docs and examples use. The local gateway's issuer
 * (localhost) counts too: its signing key exists only on a developer's machine.
 */
export function isPlaceholderIssuer(issuer: string): boolean {
  if (!issuer.trim()) return true;
  if (/placeholder|changeme|change-me|replace|your[-_]|<|>|\{|\}/i.test(issuer)) return true;
  let host: string;
  try { host = new URL(issuer).hostname; } catch { return false; }
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]'
    || /(^|\.)example\.(com|org|net)$/.test(host) || /\.(example|test|invalid|localhost|local)$/.test(host);
}

function isHttpsUrl(value: string): boolean {
  try { return new URL(value).protocol === 'https:'; } catch { return false; }
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

function bool(value: unknown, key: string): boolean {
  if (value === undefined || value === null || value === '' || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new StackConfigError(`${key} must be true or false.`);
}

function int(value: unknown, key: string, fallback: number, min = 0): number {
  if (value === undefined || value === null || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new StackConfigError(`${key} must be an integer of at least ${min}.`);
  return parsed;
}

function fraction(value: unknown, key: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) throw new StackConfigError(`${key} must be a number from ${min} to ${max}.`);
  return parsed;
}

/** A list from cdk.json (an array) or from `-c` (a comma-separated string or a JSON array). */
function list(value: unknown, key: string): string[] {
  if (value === undefined || value === null) return [];
  let items: unknown = value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('[')) {
      try { items = JSON.parse(text); } catch { throw new StackConfigError(`${key} is not a valid JSON array.`); }
    } else {
      items = text.split(',');
    }
  }
  if (!Array.isArray(items)) throw new StackConfigError(`${key} must be a list (a JSON array or comma-separated).`);
  return items.map((item) => String(item).trim()).filter(Boolean);
}

function products(value: unknown, key: string): FinchProduct[] {
  const names = list(value, key);
  const unknown = names.filter((name) => !(FINCH_PRODUCTS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new StackConfigError(`${key}: unknown Finch product(s) ${unknown.join(', ')}.`);
  if (names.length === 0) throw new StackConfigError(`${key} must name at least one product.`);
  return names as FinchProduct[];
}

function scope(value: string, key = 'adminScope'): string {
  if (/\s/.test(value)) throw new StackConfigError(`${key} must be a single scope word.`);
  return value;
}
