// The one place for what every Lambda shares: runtime, architecture, bundling, logging and a role
// of its own that starts empty (no AWS managed policy), so each function holds only what
// functions.ts grants it.
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NagSuppressions } from 'cdk-nag';

/** The repository root: entries, package-lock.json and tsconfig.json are resolved from here. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const RUNTIME = Runtime.NODEJS_22_X;
export const ARCHITECTURE = Architecture.ARM_64;

/**
 * ESM bundles with the AWS SDK inside (`externalModules: []`): the SDK version is the one the
 * tests ran against, not whatever the runtime ships. Bundled CommonJS dependencies call
 * `require`, which ESM lacks, hence the createRequire banner. esbuild comes from devDependencies
 * (no Docker); it resolves the `#core/*.js` subpath imports to the `.ts` sources by itself.
 * No `keepNames`: it costs 22–35 KiB and 7–13 ms of cold import a function (BENCHMARKS.md); names
 * that matter are set explicitly (error names, the Finch SDK's User-Agent).
 * Powertools idempotency's JMESPath interpreter is replaced by the field paths our two expressions
 * are (functions/adapters/jmespath/index.ts says why and how it stays safe); the paths are relative
 * to the project root, where NodejsFunction runs esbuild.
 */
export const BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: false,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  externalModules: [],
  banner: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  logLevel: LogLevel.ERROR,
  forceDockerBundling: false,
  esbuildArgs: {
    '--alias': [
      '@aws-lambda-powertools/jmespath/functions=./functions/adapters/jmespath/functions.ts',
      '@aws-lambda-powertools/jmespath=./functions/adapters/jmespath/index.ts',
    ],
  },
} as const;

export interface ServiceFunctionProps {
  /** Path of the handler file from the repository root (`export const handler`). */
  entry: string;
  description: string;
  timeout: Duration;
  environment: Record<string, string>;
  /** Where Lambda puts an asynchronous invocation's event once its retries are spent (the role may send there). */
  deadLetterQueue?: IQueue;
  logRetention: RetentionDays;
  dev: boolean;
}

export class ServiceFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `finch-connections ${id}: only what this function calls`,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): its own group only.
    this.logGroup.grantWrite(this.role);

    // A unique construct id (`CreateSessionFunction`): `sam local invoke` can name the function by it.
    this.fn = new NodejsFunction(this, `${id}Function`, {
      entry: `${PROJECT_ROOT}${props.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      memorySize: 512,
      timeout: props.timeout,
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      deadLetterQueue: props.deadLetterQueue,
      // X-Ray active tracing: Lambda samples requests and records each invocation's segment (init,
      // invoke, overhead); the role gets xray:PutTraceSegments/PutTelemetryRecords. No SDK-level
      // tracing in the code (Powertools Tracer): its import cost is measured in BENCHMARKS.md.
      // The HTTP API in front cannot trace: X-Ray active tracing is a REST API stage setting only
      // (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-apigateway.html).
      tracing: Tracing.ACTIVE,
      bundling: {
        ...BUNDLING, tsconfig: `${PROJECT_ROOT}tsconfig.json`, externalModules: [...BUNDLING.externalModules], mainFields: [...BUNDLING.mainFields],
        esbuildArgs: { '--alias': [...BUNDLING.esbuildArgs['--alias']] },
      },
    });
    NagSuppressions.addResourceSuppressions(this.role, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Active tracing\'s xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions '
        + '(no resource type in the Service Authorization Reference for X-Ray), so Lambda grants them on *; they write traces only.',
      appliesTo: ['Resource::*'],
    }], true);
    NagSuppressions.addResourceSuppressions(this.fn, [{
      id: 'AwsSolutions-L1',
      reason: 'Pinned to Node.js 22 on purpose: the project is built and tested on Node 22 (engines, .nvmrc, esbuild target node22), '
        + 'and middy 7 and the SDK versions are locked against it. Move to a newer runtime together with those, not implicitly.',
    }]);
  }
}
