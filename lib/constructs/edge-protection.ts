// Optional (context `waf=true`): CloudFront with an AWS WAF web ACL in front of the HTTP API,
// since HTTP APIs cannot take a web ACL directly. A per-IP rate-based rule stops one client from
// flooding the API; AWS's IP reputation and known-bad-inputs groups drop the obvious rest.
import { NagSuppressions } from 'cdk-nag';
import { Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods, CacheCookieBehavior, CacheHeaderBehavior, CachePolicy, CacheQueryStringBehavior, Distribution,
  HttpVersion, OriginProtocolPolicy, OriginRequestPolicy, PriceClass, ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface EdgeProtectionProps {
  httpApi: HttpApi;
  /** Requests one IP may make in 5 minutes before WAF blocks it. */
  rateLimit: number;
}

export class EdgeProtection extends Construct {
  readonly distribution: Distribution;
  readonly url: string;

  constructor(scope: Construct, id: string, props: EdgeProtectionProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    // A CloudFront web ACL can only be created in us-east-1.
    if (Token.isUnresolved(region) || region !== 'us-east-1') {
      throw new Error('waf=true creates a CloudFront web ACL, which AWS accepts only in us-east-1: deploy this stack '
        + 'with region us-east-1 (AWS_REGION / --profile), or leave waf off and rely on the stage throttles.');
    }

    const webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('finch-connections'),
      rules: [
        managedGroup('AWSManagedRulesAmazonIpReputationList', 0),
        managedGroup('AWSManagedRulesKnownBadInputsRuleSet', 1),
        {
          name: 'RateLimitPerIp',
          priority: 2,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: props.rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
          visibilityConfig: visibility('RateLimitPerIp'),
        },
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
      { id: 'AwsSolutions-CFR3', reason: 'CloudFront access logs would record the query string of GET /connect/callback, which carries the authorization code and state; DESIGN forbids logging either. API Gateway access logs (no query string) cover requests.' },
      { id: 'AwsSolutions-CFR4', reason: 'The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the viewer TLS policy; map a custom domain with an ACM certificate (TLSv1.2_2021) to choose it.' },
    ]);
  }
}

/** Sampled requests would keep headers (bearer tokens) and query strings (codes, states): off. */
function visibility(metricName: string): CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: false };
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
