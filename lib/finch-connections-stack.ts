// The one stack: table, token key, Finch secret, functions, HTTP API, optional WAF front, the
// connection events (bus, stream relay, enrichment, optional webhook), alarms and the operations dashboard.
// Settings come from CDK context (lib/stack-config.ts); each construct has one job.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Alarms } from './constructs/alarms.js';
import { Api } from './constructs/api.js';
import { OperationsDashboard } from './constructs/dashboard.js';
import { AuditStream } from './constructs/audit-stream.js';
import { CompanyEnrichment } from './constructs/company-enrichment.js';
import { ConnectionsTable } from './constructs/connections-table.js';
import { ReconcileSchedule } from './constructs/reconcile-schedule.js';
import { DeadLetterQueue } from './constructs/dead-letter-queue.js';
import { EdgeProtection } from './constructs/edge-protection.js';
import { ConnectionEventBus } from './constructs/event-bus.js';
import { EventsWebhook } from './constructs/events-webhook.js';
import { FinchSecret } from './constructs/finch-secret.js';
import { ServiceFunctions } from './constructs/functions.js';
import { TokenKey } from './constructs/token-key.js';
import { ROUTES } from './routes.js';
import { type StackConfig, readStackConfig } from './stack-config.js';

export interface FinchConnectionsStackProps extends StackProps {
  /** Defaults to the app's context, validated (a placeholder JWT issuer is refused unless dev). */
  config?: StackConfig;
}

export class FinchConnectionsStack extends Stack {
  readonly config: StackConfig;
  readonly api: Api;
  readonly functions: ServiceFunctions;
  readonly events: ConnectionEventBus;
  readonly auditStream: AuditStream;
  readonly enrichment: CompanyEnrichment;
  readonly webhook?: EventsWebhook;
  readonly reconcile: ReconcileSchedule;
  readonly dashboard: OperationsDashboard;

  constructor(scope: Construct, id: string, props: FinchConnectionsStackProps = {}) {
    const config = props.config ?? readStackConfig(scope.node);
    super(scope, id, {
      description: 'finch-connections: Finch Connect sessions, callback and connections on Lambda, API Gateway and DynamoDB',
      ...props,
    });
    this.config = config;

    const table = new ConnectionsTable(this, 'Connections', { dev: config.dev });
    const key = new TokenKey(this, 'TokenKey', { dev: config.dev });
    const secret = new FinchSecret(this, 'FinchSecret', { importArn: config.finchSecretArn, dev: config.dev });

    const api = new Api(this, 'Api', {
      jwtIssuer: config.jwtIssuer,
      jwtAudience: config.jwtAudience,
      allowedOrigins: config.allowedReturnOrigins,
      throttle: config.throttle,
      publicThrottle: config.publicThrottle,
      webhookThrottle: config.webhookThrottle,
      logRetention: config.logRetention,
      dev: config.dev,
    });
    this.api = api;
    const edge = config.waf
      ? new EdgeProtection(this, 'Edge', {
        httpApi: api.httpApi,
        rateLimit: config.wafRateLimit,
        webhookRateLimit: config.wafWebhookRateLimit,
        originVerifyVersions: config.originVerifyVersions,
      })
      : undefined;
    // No cycle: the URL names only the HttpApi resource (or the distribution in front of it),
    // while the routes and integrations that name the functions are resources of their own.
    const baseUrl = config.publicBaseUrl ?? edge?.url ?? api.httpApi.apiEndpoint;

    const events = new ConnectionEventBus(this, 'ConnectionEvents', { archiveRetentionDays: config.eventsArchiveRetentionDays });
    this.events = events;
    // What the enrichment queue gives up on (company-enrichment.ts): its redrive policy names it.
    const enrichmentDeadLetters = new DeadLetterQueue(this, 'EnrichmentDeadLetters', {
      holds: 'events enrich-company was handed ENRICHMENT_ATTEMPTS times without success, or EventBridge could not put on the enrichment queue',
      nagSeesDlq: true,
      dev: config.dev,
    });

    const functions = new ServiceFunctions(this, 'Functions', {
      table,
      key,
      secret,
      eventBus: events.bus,
      eventEnvironment: {
        EVENT_BUS_NAME: events.bus.eventBusName,
        RECONCILE_INTERVAL_MINUTES: String(config.reconcileIntervalMinutes),
        RECONCILE_MAX_CONNECTIONS: String(config.reconcileMaxConnections),
      },
      environment: functionEnvironment(config, {
        TABLE_NAME: table.table.tableName,
        FINCH_SECRET_ARN: secret.secret.secretArn,
        KMS_KEY_ARN: key.key.keyArn,
        CALLBACK_URL: `${baseUrl}/connect/callback`,
        // Behind the WAF every function refuses what did not come through CloudFront.
        ...edge?.originVerifyEnvironment,
      }),
      logRetention: config.logRetention,
      dev: config.dev,
    });
    this.functions = functions;
    api.addRoutes(functions.handlers());

    this.auditStream = new AuditStream(this, 'AuditStream', { table: table.table, consumer: functions.byName.events.fn, dev: config.dev });
    this.enrichment = new CompanyEnrichment(this, 'CompanyEnrichment', {
      bus: events.bus,
      enricher: functions.byName['enrich-company'],
      deadLetterQueue: enrichmentDeadLetters.queue,
      dev: config.dev,
    });
    this.reconcile = new ReconcileSchedule(this, 'ReconcileSchedule', {
      reconciler: functions.byName.reconcile.fn, intervalMinutes: config.reconcileIntervalMinutes,
    });
    this.webhook = config.eventsWebhookUrl
      ? new EventsWebhook(this, 'EventsWebhook', { bus: events.bus, url: config.eventsWebhookUrl, secretArn: config.eventsWebhookSecretArn, dev: config.dev })
      : undefined;

    const deadLetters = { AuditStreamDeadLetters: this.auditStream.deadLetters, EnrichmentDeadLetters: enrichmentDeadLetters, ...(this.webhook ? { EventsWebhookDeadLetters: this.webhook.deadLetters } : {}) };
    const functionsById = Object.fromEntries(Object.values(functions.byName).map((service) => [service.node.id, service.fn]));
    const alarms = new Alarms(this, 'Alarms', {
      metricsNamespace: config.metricsNamespace,
      httpApi: api.httpApi,
      functions: functionsById,
      table: table.table,
      alarmTopicArn: config.alarmTopicArn,
      alarmEmail: config.alarmEmail,
      deadLetterQueues: Object.fromEntries(Object.entries(deadLetters).map(([name, dlq]) => [name, { queue: dlq.queue, holds: dlq.holds }])),
      streamConsumers: { [functions.byName.events.node.id]: functions.byName.events.fn },
    });
    this.dashboard = new OperationsDashboard(this, 'Operations', {
      metricsNamespace: config.metricsNamespace, httpApi: api.httpApi, functions: functionsById, table: table.table, alarms: alarms.alarms,
    });

    new CfnOutput(this, 'ApiUrl', { value: baseUrl, description: 'The API\'s base URL' });
    // Behind the WAF, API Gateway's own endpoint is refused by every function (403): not an output.
    if (edge) {
      new CfnOutput(this, 'OriginVerifySecretArn', {
        value: edge.originVerifySecret.secretArn,
        description: 'The x-origin-verify value CloudFront sends; rotate it with lib/README.md "Rotating the origin header"',
      });
    } else if (config.publicBaseUrl) {
      new CfnOutput(this, 'ExecuteApiUrl', { value: api.httpApi.apiEndpoint, description: 'API Gateway\'s own endpoint (behind the public URL)' });
    }
    new CfnOutput(this, 'CallbackUrl', { value: `${baseUrl}/connect/callback`, description: 'Register with Finch as a redirect_uri' });
    const webhookRouted = ROUTES.some((route) => route.path === '/webhooks/finch');
    new CfnOutput(this, 'WebhookUrl', {
      value: `${baseUrl}/webhooks/finch`,
      description: webhookRouted ? 'Register with Finch as the webhook endpoint' : 'The webhook endpoint (not routed yet in this version)',
    });
    new CfnOutput(this, 'TableName', { value: table.table.tableName });
    new CfnOutput(this, 'FinchSecretArn', {
      value: secret.secret.secretArn,
      description: 'Put {client_id, client_secret, webhook_secret} here (aws secretsmanager put-secret-value)',
    });
    new CfnOutput(this, 'TokenKeyArn', { value: key.key.keyArn });
    new CfnOutput(this, 'EventBusName', { value: events.bus.eventBusName, description: 'The connection events\' bus: subscribe with a rule on it (source finch-connections)' });
    new CfnOutput(this, 'EventBusArn', { value: events.bus.eventBusArn });
    if (this.webhook) {
      new CfnOutput(this, 'EventsWebhookSecretArn', {
        value: this.webhook.secret.secretArn,
        description: 'The value every events webhook delivery carries in x-finch-connections-secret: the receiver compares it',
      });
    }
  }
}

/**
 * The environment functions/adapters/config.ts validates at cold start. No local-only variable
 * (LOCAL_TOKEN_KEYS, FINCH_CLIENT_ID/SECRET, DYNAMODB_ENDPOINT) is ever set in AWS.
 */
function functionEnvironment(config: StackConfig, resources: Record<string, string>): Record<string, string> {
  return {
    ...resources,
    FINCH_API_BASE_URL: config.finchApiBaseUrl,
    ALLOWED_RETURN_ORIGINS: config.allowedReturnOrigins.join(','),
    DEFAULT_PRODUCTS: config.defaultProducts.join(','),
    ALLOWED_PRODUCTS: config.allowedProducts.join(','),
    CUSTOMER_ID_CLAIM: config.customerIdClaim,
    CUSTOMER_NAME_CLAIM: config.customerNameClaim,
    ADMIN_SCOPE: config.adminScope,
    ...(config.adminClientIds.length > 0 ? { ADMIN_CLIENT_IDS: config.adminClientIds.join(',') } : {}),
    ...(config.finchSandbox ? { FINCH_SANDBOX: config.finchSandbox } : {}),
    FINCH_TIMEOUT_MS: String(config.finchTimeoutMs),
    STORE_BUDGET_MS: String(config.storeBudgetMs),
    FINCH_RATE_LIMITS: config.finchRateLimits,
    FINCH_BUDGET_RESERVE: String(config.finchBudgetReserve),
    FINCH_BUDGET_BURST: String(config.finchBudgetBurst),
    FINCH_PROXY_WRITE_PATHS: config.finchProxyWritePaths.join(','),
    FINCH_PROXY_WRITE_SCOPE: config.finchProxyWriteScope,
    POWERTOOLS_SERVICE_NAME: 'finch-connections',
    POWERTOOLS_LOG_LEVEL: config.logLevel,
    POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
  };
}
