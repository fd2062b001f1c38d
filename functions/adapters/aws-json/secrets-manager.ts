// Secrets Manager GetSecretValue through the SDK's own parts (./client.ts says why not
// @aws-sdk/client-secrets-manager itself). The names, endpoint rules and schemas below are copied
// from @aws-sdk/client-secrets-manager 3.1164.0 (dist-es/runtimeConfig.shared.js, endpoint/bdd.js,
// schemas/schemas_0.js); test/integration/aws-json.test.ts fails when the installed package no
// longer matches them.
import type { GetSecretValueCommandInput, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import type { StaticOperationSchema, StaticStructureSchema } from '@smithy/types';
import { AwsJsonClient, commandFor, endpointRules, type JsonClientConfig, type JsonService, RESULT } from './client.js';

// endpoint/bdd.js
const r = RESULT;
const rules = endpointRules([
  -1, 1, -1,
  0, 17, 3,
  1, 4, r + 14,
  2, 5, r + 14,
  3, 11, 6,
  4, 7, r + 13,
  5, 8, r + 12,
  7, r + 9, 9,
  8, r + 10, 10,
  9, r + 9, r + 11,
  4, 13, 12,
  6, r + 7, r + 8,
  5, 14, r + 6,
  6, 15, r + 6,
  7, r + 4, 16,
  9, r + 4, r + 5,
  3, r + 1, 18,
  4, r + 2, r + 3,
], [
  'https://secretsmanager-fips.{Region}.amazonaws.com',
  'https://secretsmanager-fips.{Region}.{PartitionResult#dualStackDnsSuffix}',
  'FIPS and DualStack are enabled, but this partition does not support one or both',
  'https://secretsmanager-fips.{Region}.{PartitionResult#dnsSuffix}',
  'FIPS is enabled but this partition does not support FIPS',
  'https://secretsmanager.{Region}.amazonaws.com',
  'https://secretsmanager.{Region}.amazonaws.com.cn',
  'https://secretsmanager.{Region}.{PartitionResult#dualStackDnsSuffix}',
  'DualStack is enabled but this partition does not support DualStack',
  'https://secretsmanager.{Region}.{PartitionResult#dnsSuffix}',
], ['aws', 'aws-cn', 'aws-us-gov']);

export const SECRETS_MANAGER: JsonService = {
  serviceId: 'Secrets Manager',
  clientName: 'SecretsManagerClient',
  clientVersion: '3.1164.0',
  apiVersion: '2017-10-17',
  serviceTarget: 'secretsmanager',
  namespace: 'com.amazonaws.secretsmanager',
  signingName: 'secretsmanager',
  endpointRules: rules,
  baseException: 'SecretsManagerServiceException',
};

// schemas/schemas_0.js (kms.ts explains the notation); 4 is a timestamp. The secret's string and
// binary carry the `sensitive` trait (8).
const n0 = SECRETS_MANAGER.namespace;
const SecretBinaryType = [0, n0, 'SecretBinaryType', 8, 21];
const SecretStringType = [0, n0, 'SecretStringType', 8, 0];
export const GetSecretValueRequest$ = [3, n0, 'GetSecretValueRequest', 0,
  ['SecretId', 'VersionId', 'VersionStage'],
  [0, 0, 0], 1] as StaticStructureSchema;
export const GetSecretValueResponse$ = [3, n0, 'GetSecretValueResponse', 0,
  ['ARN', 'Name', 'VersionId', 'SecretBinary', 'SecretString', 'VersionStages', 'CreatedDate'],
  [0, 0, 0, [() => SecretBinaryType, 0], [() => SecretStringType, 0], 64 | 0, 4]] as StaticStructureSchema;
export const GetSecretValue$ = [9, n0, 'GetSecretValue', 0, () => GetSecretValueRequest$, () => GetSecretValueResponse$] as StaticOperationSchema;

/** Secrets Manager as `new SecretsManagerClient(config)` makes it, for the one operation we call. */
export class SecretsManagerClient extends AwsJsonClient {
  constructor(config: JsonClientConfig = {}) { super(SECRETS_MANAGER, config); }
}

export class GetSecretValueCommand extends commandFor<GetSecretValueCommandInput, GetSecretValueCommandOutput>(SECRETS_MANAGER, 'GetSecretValue', GetSecretValue$) {}
