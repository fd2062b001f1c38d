// A client for an AWS JSON 1.1 service (KMS, Secrets Manager), composed from the SDK's own
// published parts exactly as each generated `@aws-sdk/client-*` package composes its client
// (KMSClient.js, runtimeConfig.js, runtimeConfig.shared.js, runtimeExtensions.js of
// @aws-sdk/client-kms 3.1164): the same credentials chain, SigV4 signer, AwsJson1_1Protocol,
// endpoint decision diagram, retry strategy, user agent and Node HTTP handler, all of which every
// bundle already carries for DynamoDB.
//
// Why not the generated packages themselves: their module scope defines and registers every error
// class and error schema of the service (48 + 12 classes, 41 KiB for the two), which every function
// that encrypts a token or reads Finch's credentials paid at each cold start for three operations
// (docs/ARCHITECTURE.md, "Layers"; BENCHMARKS.md). Only what is per service is written here, copied from the
// generated package: its names, endpoint rules and the three operations' schemas. An error the
// service models comes back as the service's base exception with the service's error name,
// `$fault` and `$metadata` (what the generated client gives for one it does not model), which is
// all our adapters and the SDK's retry strategy read. test/integration/aws-json.test.ts holds each
// copy to the installed generated package (same schemas, same endpoints, same bytes on the wire,
// same errors and retries), so upgrading the SDK cannot leave them behind unnoticed.
import {
  awsEndpointFunctions, createDefaultUserAgentProvider, emitWarningIfUnsupportedVersion as awsCheckVersion,
  getAwsRegionExtensionConfiguration, getDefaultSocketTimeout, getHostHeaderPlugin, getLoggerPlugin,
  getRecursionDetectionPlugin, getUserAgentPlugin, NODE_APP_ID_CONFIG_OPTIONS, resolveAwsRegionExtensionConfiguration,
  resolveHostHeaderConfig, resolveUserAgentConfig,
} from '@aws-sdk/core/client';
import { AwsSdkSigV4Signer, NODE_AUTH_SCHEME_PREFERENCE_OPTIONS, resolveAwsSdkSigV4Config } from '@aws-sdk/core/httpAuthSchemes';
import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import { defaultProvider as credentialDefaultProvider } from '@aws-sdk/credential-provider-node';
import { DefaultIdentityProviderConfig, getHttpAuthSchemeEndpointRuleSetPlugin, getHttpSigningPlugin } from '@smithy/core';
import { Sha256 } from '@smithy/core/checksum';
import {
  Client, emitWarningIfUnsupportedVersion, getDefaultExtensionConfiguration, getSmithyContext, loadConfigsForDefaultMode,
  makeBuilder, normalizeProvider, NoOpLogger, resolveDefaultRuntimeConfig, ServiceException,
} from '@smithy/core/client';
import {
  loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS, NODE_USE_DUALSTACK_ENDPOINT_CONFIG_OPTIONS,
  NODE_USE_FIPS_ENDPOINT_CONFIG_OPTIONS, resolveDefaultsModeConfig, resolveRegionConfig,
} from '@smithy/core/config';
import {
  BinaryDecisionDiagram, customEndpointFunctions, decideEndpoint, EndpointCache, getEndpointPlugin, resolveEndpointConfig,
} from '@smithy/core/endpoints';
import { getContentLengthPlugin, getHttpHandlerExtensionConfiguration, parseUrl, resolveHttpHandlerRuntimeConfig } from '@smithy/core/protocols';
import { DEFAULT_RETRY_MODE, getRetryPlugin, NODE_MAX_ATTEMPT_CONFIG_OPTIONS, NODE_RETRY_MODE_CONFIG_OPTIONS, resolveRetryConfig } from '@smithy/core/retry';
import { getSchemaSerdePlugin, TypeRegistry } from '@smithy/core/schema';
import { calculateBodyLength, fromBase64, fromUtf8, toBase64, toUtf8 } from '@smithy/core/serde';
import { NodeHttpHandler, streamCollector } from '@smithy/node-http-handler';
import type { EndpointParameterInstructions, EndpointV2, HttpHandlerOptions, MetadataBearer, StaticErrorSchema, StaticOperationSchema } from '@smithy/types';

/** What differs between two AWS JSON 1.1 services, as their generated packages spell it. */
export interface JsonService {
  /** `serviceId` (`KMS`, `Secrets Manager`): names the user agent and `AWS_ENDPOINT_URL_<ID>`. */
  serviceId: string;
  /** The generated client's class name (`KMSClient`), which the SDK's logger and user agent report. */
  clientName: string;
  /** The package version the per-service parts were copied from (its user agent says `api/<id>#<version>`). */
  clientVersion: string;
  apiVersion: string;
  /** `X-Amz-Target`'s prefix (`TrentService`). */
  serviceTarget: string;
  /** The Smithy namespace (`com.amazonaws.kms`). */
  namespace: string;
  /** SigV4's service name (`kms`). */
  signingName: string;
  endpointRules: BinaryDecisionDiagram;
  /** The service's base exception class and its name, as the generated package names them. */
  baseException: string;
  extraSettings?: Record<string, unknown>;
}

/** The client's input configuration: what `new KMSClient(config)` takes, minus extensions. */
export type JsonClientConfig = Record<string, unknown> & {
  region?: string | (() => Promise<string>);
  endpoint?: string;
  maxAttempts?: number;
  extensions?: never;
};

const COMMON_ENDPOINT_PARAMS: EndpointParameterInstructions = {
  UseFIPS: { type: 'builtInParams', name: 'useFipsEndpoint' },
  Endpoint: { type: 'builtInParams', name: 'endpoint' },
  Region: { type: 'builtInParams', name: 'region' },
  UseDualStack: { type: 'builtInParams', name: 'useDualstackEndpoint' },
};

// As every generated endpointResolver.js does on import: the `aws.partition` and ARN functions.
customEndpointFunctions.aws = awsEndpointFunctions;

/** A result's index in endpoint rules' nodes (`r + i` in the generated endpoint/bdd.js). */
export const RESULT = 100_000_000;

/**
 * Endpoint rules as a generated endpoint/bdd.js builds them: the conditions and results every AWS
 * service's rules begin with (custom endpoint, region, partition, FIPS, dual-stack), the service's
 * own tests of the partition's name, then its results (an `https://` template is an endpoint, any
 * other string a refusal) and the missing region last.
 */
export function endpointRules(nodes: number[], serviceResults: string[], partitionNames: string[] = []): BinaryDecisionDiagram {
  const endpoint = { ref: 'Endpoint' }, partition = { ref: 'PartitionResult' }, region = [{ ref: 'Region' }];
  const conditions = [
    ['isSet', [endpoint]],
    ['isSet', region],
    ['aws.partition', region, 'PartitionResult'],
    ['booleanEquals', [{ ref: 'UseFIPS' }, true]],
    ['booleanEquals', [{ ref: 'UseDualStack' }, true]],
    ['booleanEquals', [{ fn: 'getAttr', argv: [partition, 'supportsDualStack'] }, true]],
    ['booleanEquals', [{ fn: 'getAttr', argv: [partition, 'supportsFIPS'] }, true]],
    ...partitionNames.map((name) => ['stringEquals', [{ fn: 'getAttr', argv: [partition, 'name'] }, name]]),
  ];
  const results = [
    [-1],
    [-1, 'Invalid Configuration: FIPS and custom endpoint are not supported'],
    [-1, 'Invalid Configuration: Dualstack and custom endpoint are not supported'],
    [endpoint, {}],
    ...serviceResults.map((result) => (result.startsWith('https://') ? [result, {}] : [-1, result])),
    [-1, 'Invalid Configuration: Missing Region'],
  ];
  return BinaryDecisionDiagram.from(new Int32Array(nodes), 2, conditions as never, results as never);
}

function endpointResolver(rules: BinaryDecisionDiagram) {
  const cache = new EndpointCache({ size: 50, params: ['Endpoint', 'Region', 'UseDualStack', 'UseFIPS'] });
  return (endpointParams: Record<string, unknown>, context: { logger?: unknown } = {}): EndpointV2 =>
    cache.get(endpointParams as never, () => decideEndpoint(rules, { endpointParams: endpointParams as never, logger: context.logger as never }));
}

const registries = new WeakMap<JsonService, TypeRegistry[]>();

/** The service's synthetic base exception: what an error without its own class is made as. Once per service. */
function errorRegistries(service: JsonService): TypeRegistry[] {
  const made = registries.get(service);
  if (made) return made;
  const namespace = `smithy.ts.sdk.synthetic.${service.namespace}`;
  const Base = class extends ServiceException {
    static override readonly shapeId = `${namespace}#${service.baseException}`;
    constructor(options: ConstructorParameters<typeof ServiceException>[0]) {
      super(options);
      Object.setPrototypeOf(this, new.target.prototype);
    }
  };
  Object.defineProperty(Base, 'name', { value: service.baseException });
  const registry = new TypeRegistry(namespace);
  registry.registerError([-3, namespace, service.baseException, 0, [], []] as StaticErrorSchema, Base);
  registries.set(service, [registry]);
  return [registry];
}

function runtimeConfig(service: JsonService, config: JsonClientConfig) {
  // runtimeConfig.shared.js
  const shared = {
    apiVersion: service.apiVersion,
    base64Decoder: fromBase64,
    base64Encoder: toBase64,
    disableHostPrefix: false,
    endpointProvider: endpointResolver(service.endpointRules),
    extensions: [],
    httpAuthSchemeProvider: (authParameters: { region: string }) => [{
      schemeId: 'aws.auth#sigv4',
      signingProperties: { name: service.signingName, region: authParameters.region },
      propertiesExtractor: (cfg: unknown, context: unknown) => ({ signingProperties: { config: cfg, context } }),
    }],
    httpAuthSchemes: [{
      schemeId: 'aws.auth#sigv4',
      identityProvider: (ipc: { getIdentityProvider(id: string): unknown }) => ipc.getIdentityProvider('aws.auth#sigv4'),
      signer: new AwsSdkSigV4Signer(),
    }],
    // The caller's logger, if any, as the generated one takes it here: the config loaders below log to it.
    logger: (config.logger as NoOpLogger | undefined) ?? new NoOpLogger(),
    protocol: AwsJson1_1Protocol,
    protocolSettings: {
      defaultNamespace: service.namespace,
      errorTypeRegistries: errorRegistries(service),
      version: service.apiVersion,
      serviceTarget: service.serviceTarget,
      ...service.extraSettings,
    },
    serviceId: service.serviceId,
    sha256: Sha256,
    urlParser: parseUrl,
    utf8Decoder: fromUtf8,
    utf8Encoder: toUtf8,
  };
  // runtimeConfig.js (Node)
  emitWarningIfUnsupportedVersion(process.version);
  const defaultsMode = resolveDefaultsModeConfig(config as never);
  const defaultConfigProvider = () => defaultsMode().then(loadConfigsForDefaultMode);
  awsCheckVersion(process.version);
  const loaderConfig = { profile: config.profile as string | undefined, logger: shared.logger };
  return {
    ...shared,
    ...config,
    runtime: 'node',
    defaultsMode,
    authSchemePreference: config.authSchemePreference ?? loadConfig(NODE_AUTH_SCHEME_PREFERENCE_OPTIONS, loaderConfig),
    bodyLengthChecker: config.bodyLengthChecker ?? calculateBodyLength,
    credentialDefaultProvider: config.credentialDefaultProvider ?? credentialDefaultProvider,
    defaultSocketTimeout: getDefaultSocketTimeout(config.requestHandler as never, 300_000),
    defaultUserAgentProvider: config.defaultUserAgentProvider
      ?? createDefaultUserAgentProvider({ serviceId: service.serviceId, clientVersion: service.clientVersion }),
    maxAttempts: config.maxAttempts ?? loadConfig(NODE_MAX_ATTEMPT_CONFIG_OPTIONS, config as never),
    region: config.region ?? loadConfig(NODE_REGION_CONFIG_OPTIONS, { ...NODE_REGION_CONFIG_FILE_OPTIONS, ...loaderConfig }),
    requestHandler: NodeHttpHandler.create((config.requestHandler ?? defaultConfigProvider) as never),
    retryMode: config.retryMode ?? loadConfig({
      ...NODE_RETRY_MODE_CONFIG_OPTIONS,
      default: async () => (await defaultConfigProvider()).retryMode || DEFAULT_RETRY_MODE,
    }, config as never),
    streamCollector: config.streamCollector ?? streamCollector,
    useDualstackEndpoint: config.useDualstackEndpoint ?? loadConfig(NODE_USE_DUALSTACK_ENDPOINT_CONFIG_OPTIONS, loaderConfig),
    useFipsEndpoint: config.useFipsEndpoint ?? loadConfig(NODE_USE_FIPS_ENDPOINT_CONFIG_OPTIONS, loaderConfig),
    userAgentAppId: config.userAgentAppId ?? loadConfig(NODE_APP_ID_CONFIG_OPTIONS, loaderConfig),
  };
}

// runtimeExtensions.js with no extensions: the configuration read back through the extension
// interfaces, as the generated constructor does (it normalizes what they expose).
function resolveRuntimeExtensions<T extends Record<string, any>>(config: T): T {
  const httpAuth = {
    httpAuthSchemes: () => config.httpAuthSchemes,
    httpAuthSchemeProvider: () => config.httpAuthSchemeProvider,
    credentials: () => config.credentials,
  };
  const extension = Object.assign(getAwsRegionExtensionConfiguration(config as never), getDefaultExtensionConfiguration(config as never),
    getHttpHandlerExtensionConfiguration(config as never), httpAuth);
  return Object.assign(config, resolveAwsRegionExtensionConfiguration(extension), resolveDefaultRuntimeConfig(extension),
    resolveHttpHandlerRuntimeConfig(extension), {
      httpAuthSchemes: httpAuth.httpAuthSchemes(), httpAuthSchemeProvider: httpAuth.httpAuthSchemeProvider(), credentials: httpAuth.credentials(),
    });
}

/** The generated client's constructor (KMSClient.js), for any JSON 1.1 service. */
export class AwsJsonClient extends Client<HttpHandlerOptions, any, MetadataBearer, any> {
  declare readonly config: any;

  constructor(readonly service: JsonService, configuration: JsonClientConfig = {}) {
    const config0 = runtimeConfig(service, configuration);
    super(config0 as never);
    this.initConfig = config0;
    const config1 = Object.assign(config0, {
      useDualstackEndpoint: config0.useDualstackEndpoint ?? false,
      useFipsEndpoint: config0.useFipsEndpoint ?? false,
      defaultSigningName: service.signingName,
    });
    const config2 = resolveUserAgentConfig(config1 as never);
    const config3 = resolveRetryConfig(config2 as never);
    const config4 = resolveRegionConfig(config3 as never);
    const config5 = resolveHostHeaderConfig(config4 as never);
    const config6 = resolveEndpointConfig(config5 as never);
    const config7 = Object.assign(resolveAwsSdkSigV4Config(config6 as never), {
      authSchemePreference: normalizeProvider((config6 as { authSchemePreference?: string[] }).authSchemePreference ?? []),
    });
    const config = resolveRuntimeExtensions(config7 as Record<string, any>);
    (this as { config: unknown }).config = config;
    this.middlewareStack.use(getSchemaSerdePlugin(config as never));
    this.middlewareStack.use(getUserAgentPlugin(config as never));
    this.middlewareStack.use(getRetryPlugin(config as never));
    this.middlewareStack.use(getContentLengthPlugin(config as never));
    this.middlewareStack.use(getHostHeaderPlugin(config as never));
    this.middlewareStack.use(getLoggerPlugin(config as never));
    this.middlewareStack.use(getRecursionDetectionPlugin(config as never));
    this.middlewareStack.use(getHttpAuthSchemeEndpointRuleSetPlugin(config as never, {
      httpAuthSchemeParametersProvider: async (cfg: { region: unknown }, context: unknown) => ({
        operation: getSmithyContext(context as never).operation,
        region: await normalizeProvider(cfg.region as never)() || (() => {
          throw new Error('expected `region` to be configured for `aws.auth#sigv4`');
        })(),
      }),
      identityProviderConfigProvider: async (cfg: { credentials: unknown }) => new DefaultIdentityProviderConfig({ 'aws.auth#sigv4': cfg.credentials as never }),
    } as never));
    this.middlewareStack.use(getHttpSigningPlugin(config as never));
  }
}

/** A command class for one operation, as the generated `commands/<Op>Command.js` makes it. */
export function commandFor<I extends object, O extends MetadataBearer>(service: Pick<JsonService, 'serviceTarget' | 'clientName'>, operation: string, schema: StaticOperationSchema) {
  const command = makeBuilder(COMMON_ENDPOINT_PARAMS, service.serviceTarget, service.clientName, getEndpointPlugin);
  return command<I, O>({}, () => [], operation, schema);
}
