// Optional (context `waf=true`): CloudFront with an AWS WAF web ACL in front of the HTTP API,
// since HTTP APIs cannot take a web ACL directly. A per-IP rate-based rule stops one client from
// flooding the API; AWS's IP reputation and known-bad-inputs groups drop the obvious rest.
// CloudFront adds a secret header (`x-origin-verify`) to every request it forwards, and every
// function refuses a request without it (functions/http/origin-verify.ts), so the execute-api URL
// answers 403 instead of letting a client skip the WAF.
import { NagSuppressions } from 'cdk-nag';
import { Duration, Fn, RemovalPolicy, SecretValue, Stack, Token } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods, CacheCookieBehavior, CacheHeaderBehavior, CachePolicy, CacheQueryStringBehavior, Distribution,
  HttpVersion, OriginProtocolPolicy, OriginRequestPolicy, PriceClass, ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '#http/origin-verify.js';
import { ROUTES } from '../routes.js';
import { StackConfigError } from '../stack-config.js';

/** Finch's deliveries: HMAC-signed, route-throttled, and from a few IPs that the general per-IP limit would block at a fleet's peak. */
export const WEBHOOK_PATH = ROUTES.find((route) => route.function === 'webhook')!.path;

export interface EdgeProtectionProps {
  httpApi: HttpApi;
  /** Requests one IP may make in 5 minutes before WAF blocks it (every route but the webhook). */
  rateLimit: number;
  /** The same for POST /webhooks/finch, which Finch calls from a few IPs. */
  webhookRateLimit: number;
  /** Secrets Manager version ids of the origin header's values: CloudFront sends the first, the functions accept each. Empty: AWSCURRENT. */
  originVerifyVersions: string[];
}

export class EdgeProtection extends Construct {
  readonly distribution: Distribution;
  readonly url: string;
  /** Where the origin header's value lives (rotation: lib/README.md). */
  readonly originVerifySecret: Secret;
  /** ORIGIN_VERIFY (and ORIGIN_VERIFY_ROTATING during a rotation) for every function behind the API. */
  readonly originVerifyEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: EdgeProtectionProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    // A CloudFront web ACL can only be created in us-east-1.
    // A StackConfigError: bin/app.ts prints it as one line, not a stack trace.
    if (Token.isUnresolved(region) || region !== 'us-east-1') {
      throw new StackConfigError(`waf=true creates a CloudFront web ACL, which AWS accepts only in us-east-1 (this stack's region is ${Token.isUnresolved(region) ? 'not set' : region}): `
        + 'deploy the stack in us-east-1 (AWS_REGION, or the profile\'s region), or leave waf off.');
    }

    // The value CloudFront sends and the functions check. CloudFormation resolves these references
    // when the property holding one changes, so pinning version ids (context originVerifyVersions)
    // is what makes a deploy pick up a rotated value, one step at a time (lib/README.md).
    this.originVerifySecret = new Secret(this, 'OriginVerify', {
      description: 'finch-connections: the x-origin-verify header CloudFront adds to every request to the API; '
        + 'the functions refuse requests without it. Rotate with the steps in lib/README.md, never in place.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      // Nothing outside this stack uses the value: a new one is harmless after a destroy.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const [sent, also] = props.originVerifyVersions.length > 0 ? props.originVerifyVersions : [undefined];
    const valueOf = (versionId: string | undefined) =>
      SecretValue.secretsManager(this.originVerifySecret.secretArn, versionId ? { versionId } : {}).unsafeUnwrap();
    this.originVerifyEnvironment = { ORIGIN_VERIFY: valueOf(sent), ...(also ? { ORIGIN_VERIFY_ROTATING: valueOf(also) } : {}) };
    NagSuppressions.addResourceSuppressions(this.originVerifySecret, [{
      id: 'AwsSolutions-SMG4',
      reason: 'A rotation must reach the functions before CloudFront and leave them after it, one deploy each (lib/README.md '
        + '"Rotating the origin header"); a rotation Lambda changing the value in place would make every request 403.',
    }]);

    const webhook: CfnWebACL.StatementProperty = {
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'EXACTLY',
        searchString: WEBHOOK_PATH,
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    };
    const webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('finch-connections'),
      rules: [
        managedGroup('AWSManagedRulesAmazonIpReputationList', 0),
        managedGroup('AWSManagedRulesKnownBadInputsRuleSet', 1),
        // Only an exact match leaves the general limit: any other spelling of the path is counted here.
        rateRule('RateLimitPerIp', 2, props.rateLimit, { notStatement: { statement: webhook } }),
        rateRule('WebhookRateLimitPerIp', 3, props.webhookRateLimit, webhook),
      ],
    });

    // Nothing is cached: every response of the API says `no-store`, and with a zero default TTL
    // a response without Cache-Control is not kept either. Authorization must be in the cache key
    // for CloudFront to forward it on GET (an origin request policy cannot forward it).
    const passThrough = new CachePolicy(this, 'PassThrough', {
      comment: 'finch-connections: forward Authorization, cache nothing the API does not allow',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(1),
      headerBehavior: CacheHeaderBehavior.allowList('Authorization'),
      queryStringBehavior: CacheQueryStringBehavior.all(),
      cookieBehavior: CacheCookieBehavior.none(),
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'finch-connections API behind AWS WAF',
      webAclId: webAcl.attrArn,
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: new HttpOrigin(Fn.select(2, Fn.split('/', props.httpApi.apiEndpoint)), {
          protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
          // CloudFront overwrites a viewer's header of the same name, so only it can send the value.
          customHeaders: { [ORIGIN_VERIFY_HEADER]: valueOf(sent) },
        }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: passThrough,
        // The API's own host must reach API Gateway, so every viewer header but Host is forwarded.
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    NagSuppressions.addResourceSuppressions(this.distribution, [
      { id: 'AwsSolutions-CFR1', reason: 'Employers connect from anywhere their payroll provider serves; geo blocking is a per-deployment choice, not a default.' },
      { id: 'AwsSolutions-CFR3', reason: 'CloudFront access logs would record the query string of GET /connect/callback, which carries the authorization code and state; neither may ever be logged (docs/ARCHITECTURE.md). API Gateway access logs (no query string) cover requests.' },
      { id: 'AwsSolutions-CFR4', reason: 'The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the viewer TLS policy; map a custom domain with an ACM certificate (TLSv1.2_2021) to choose it.' },
    ]);
  }
}

/** Sampled requests would keep headers (bearer tokens) and query strings (codes, states): off. */
function visibility(metricName: string): CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: false };
}

function rateRule(name: string, priority: number, limit: number, scopeDownStatement: CfnWebACL.StatementProperty): CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    action: { block: {} },
    statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: 300, scopeDownStatement } },
    visibilityConfig: visibility(name),
  };
}

function managedGroup(name: string, priority: number): CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
    visibilityConfig: visibility(name),
  };
}
