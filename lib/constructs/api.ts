// The HTTP API: exactly the routes of lib/routes.ts (no `$default` catch-all, no local-only
// routes), the JWT authorizer on the routes marked `jwt`, CORS for the allowed return origins,
// JSON access logs, and throttling on the stage with tighter limits on the routes without a JWT.
import { NagSuppressions } from 'cdk-nag';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage, CorsHttpMethod, HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type FunctionName, ROUTES, type RouteSpec, routeKey } from '../routes.js';

export interface Throttle { rateLimit: number; burstLimit: number }

export interface ApiProps {
  jwtIssuer: string;
  jwtAudience: string[];
  allowedOrigins: string[];
  throttle: Throttle;
  /** The browser routes without a JWT (the callback and its result page). */
  publicThrottle: Throttle;
  /** Finch's webhook deliveries. */
  webhookThrottle: Throttle;
  logRetention: RetentionDays;
  dev: boolean;
}

/**
 * What one access-log line holds. Deliberately absent: the query string (the callback's carries
 * `code` and `state`), headers (bearer tokens) and claims.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

/**
 * Built in two steps because the functions need the API's URL (CALLBACK_URL) and the routes need
 * the functions: the HttpApi resource comes first, `addRoutes` once the functions exist.
 */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly routes: Map<string, HttpRoute> = new Map();
  private readonly authorizer: HttpJwtAuthorizer;
  private readonly publicThrottle: Throttle;
  private readonly webhookThrottle: Throttle;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const methods = [...new Set(ROUTES.map((route) => route.method))];
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'finch-connections: Finch Connect sessions, callback and connections',
      // The stage below replaces the default one so it can carry throttling and access logs.
      createDefaultStage: false,
      corsPreflight: props.allowedOrigins.length === 0 ? undefined : {
        allowOrigins: props.allowedOrigins,
        allowMethods: methods.map((method) => CorsHttpMethod[method]),
        allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'finch-connection-id'],
        maxAge: Duration.hours(1),
      },
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, { jwtAudience: props.jwtAudience });
    this.publicThrottle = props.publicThrottle;
    this.webhookThrottle = props.webhookThrottle;
  }

  /** Every route of lib/routes.ts, each to its function; only these (no `$default`). */
  addRoutes(handlers: Record<FunctionName, IFunction>) {
    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integrationFor = (name: FunctionName) => {
      if (!handlers[name]) throw new Error(`lib/routes.ts routes to function "${name}", which has no entry in FUNCTION_ENTRIES.`);
      if (!integrations.has(name)) integrations.set(name, new HttpLambdaIntegration(`${name}-integration`, handlers[name]));
      return integrations.get(name)!;
    };

    for (const route of ROUTES) {
      const httpRoute = new HttpRoute(this, constructIdOf(route), {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: integrationFor(route.function),
        authorizer: route.auth === 'jwt' ? this.authorizer : undefined,
      });
      this.routes.set(routeKey(route), httpRoute);
      if (route.auth === 'none') {
        NagSuppressions.addResourceSuppressions(httpRoute, [{ id: 'AwsSolutions-APIG4', reason: whyNoJwt(route) }]);
      }
    }

    // Route-level throttles: a flood of unauthenticated requests is cut at the route, before it
    // reaches Lambda or exhausts the account's concurrency shared with the JWT routes. They are
    // shared by every client (API Gateway has no per-client limit on HTTP APIs), so they are sized
    // above a real peak, and the per-IP limit is the WAF's (lib/README.md "Throttles").
    const routeSettings = Object.fromEntries(ROUTES.filter((route) => route.auth === 'none').map((route) => {
      const throttle = route.function === 'webhook' ? this.webhookThrottle : this.publicThrottle;
      return [routeKey(route), { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit }];
    }));
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.addPropertyOverride('RouteSettings', routeSettings);
    // RouteSettings name route keys, which must exist when the stage is updated.
    for (const httpRoute of this.routes.values()) this.stage.node.addDependency(httpRoute);
  }
}

/** Why a route marked `auth: 'none'` in the route table takes no JWT (cdk-nag AwsSolutions-APIG4). */
function whyNoJwt(route: RouteSpec): string {
  const key = routeKey(route);
  const throttled = ' The stage throttles it tighter than the JWT routes.';
  if (route.path.startsWith('/webhooks/')) {
    return `${key} is called by Finch's servers, which send no JWT; the handler verifies Finch's HMAC signature on the raw body (±300 s) before reading anything and answers 401 otherwise.${throttled}`;
  }
  if (route.path === '/connect/callback') {
    return `${key} is where the employer's browser lands from Finch's redirect, without a JWT; only a single-use, expiring state this backend stored is trusted, and anything else gets the result page with invalid_state.${throttled}`;
  }
  if (route.path === '/connect/result') {
    return `${key} is the built-in result page the callback redirects to; it only echoes bounded display parameters and reads or writes nothing.${throttled}`;
  }
  return `${key} is marked auth: 'none' in lib/routes.ts (docs/ARCHITECTURE.md, "Who may call what").${throttled}`;
}

/** `GET /connections/{connection_id}` → `GetConnectionsConnectionId`. */
function constructIdOf(route: RouteSpec): string {
  const words = route.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [route.method.charAt(0) + route.method.slice(1).toLowerCase(), ...words.map((word) => word.charAt(0).toUpperCase() + word.slice(1))].join('');
}
