// KMS Encrypt and Decrypt through the SDK's own parts (./client.ts says why not @aws-sdk/client-kms
// itself). The names, endpoint rules and schemas below are copied from @aws-sdk/client-kms
// 3.1164.0 (dist-es/runtimeConfig.shared.js, endpoint/bdd.js, schemas/schemas_0.js);
// test/integration/aws-json.test.ts fails when the installed package no longer matches them.
import type { DecryptCommandInput, DecryptCommandOutput, EncryptCommandInput, EncryptCommandOutput } from '@aws-sdk/client-kms';
import type { StaticOperationSchema, StaticStructureSchema } from '@smithy/types';
import { AwsJsonClient, commandFor, endpointRules, type JsonClientConfig, type JsonService, RESULT } from './client.js';

// endpoint/bdd.js
const r = RESULT;
const rules = endpointRules([
  -1, 1, -1,
  0, 12, 3,
  1, 4, r + 11,
  2, 5, r + 11,
  3, 8, 6,
  4, 7, r + 10,
  5, r + 8, r + 9,
  4, 10, 9,
  6, r + 6, r + 7,
  5, 11, r + 5,
  6, r + 4, r + 5,
  3, r + 1, 13,
  4, r + 2, r + 3,
], [
  'https://kms-fips.{Region}.{PartitionResult#dualStackDnsSuffix}',
  'FIPS and DualStack are enabled, but this partition does not support one or both',
  'https://kms-fips.{Region}.{PartitionResult#dnsSuffix}',
  'FIPS is enabled but this partition does not support FIPS',
  'https://kms.{Region}.{PartitionResult#dualStackDnsSuffix}',
  'DualStack is enabled but this partition does not support DualStack',
  'https://kms.{Region}.{PartitionResult#dnsSuffix}',
]);

export const KMS: JsonService = {
  serviceId: 'KMS',
  clientName: 'KMSClient',
  clientVersion: '3.1164.0',
  apiVersion: '2014-11-01',
  serviceTarget: 'TrentService',
  namespace: 'com.amazonaws.kms',
  signingName: 'kms',
  endpointRules: rules,
  baseException: 'KMSServiceException',
  extraSettings: { xmlNamespace: 'https://trent.amazonaws.com/doc/2014-11-01/' },
};

// schemas/schemas_0.js: [3 = structure, namespace, name, traits, member names, member schemas,
// required count]; 0 string, 2 boolean, 21 blob, 64|0 string list, 128|0 string map; the
// plaintext is a blob with the `sensitive` trait (8), which keeps it out of the SDK's logs.
const n0 = KMS.namespace;
const PlaintextType = [0, n0, 'PlaintextType', 8, 21];
const RecipientInfo$ = [3, n0, 'RecipientInfo', 0, ['KeyEncryptionAlgorithm', 'AttestationDocument'], [0, 21]];
export const EncryptRequest$ = [3, n0, 'EncryptRequest', 0,
  ['KeyId', 'Plaintext', 'EncryptionContext', 'GrantTokens', 'EncryptionAlgorithm', 'DryRun'],
  [0, [() => PlaintextType, 0], 128 | 0, 64 | 0, 0, 2], 2] as StaticStructureSchema;
export const EncryptResponse$ = [3, n0, 'EncryptResponse', 0,
  ['CiphertextBlob', 'KeyId', 'EncryptionAlgorithm'],
  [21, 0, 0]] as StaticStructureSchema;
export const DecryptRequest$ = [3, n0, 'DecryptRequest', 0,
  ['CiphertextBlob', 'EncryptionContext', 'GrantTokens', 'KeyId', 'EncryptionAlgorithm', 'Recipient', 'DryRun', 'DryRunModifiers'],
  [21, 128 | 0, 64 | 0, 0, 0, () => RecipientInfo$, 2, 64 | 0]] as StaticStructureSchema;
export const DecryptResponse$ = [3, n0, 'DecryptResponse', 0,
  ['KeyId', 'Plaintext', 'EncryptionAlgorithm', 'CiphertextForRecipient', 'KeyMaterialId'],
  [0, [() => PlaintextType, 0], 0, 21, 0]] as StaticStructureSchema;
export const Encrypt$ = [9, n0, 'Encrypt', 0, () => EncryptRequest$, () => EncryptResponse$] as StaticOperationSchema;
export const Decrypt$ = [9, n0, 'Decrypt', 0, () => DecryptRequest$, () => DecryptResponse$] as StaticOperationSchema;

/** KMS as `new KMSClient(config)` makes it, for the two operations we call. */
export class KmsClient extends AwsJsonClient {
  constructor(config: JsonClientConfig = {}) { super(KMS, config); }
}

export class EncryptCommand extends commandFor<EncryptCommandInput, EncryptCommandOutput>(KMS, 'Encrypt', Encrypt$) {}
export class DecryptCommand extends commandFor<DecryptCommandInput, DecryptCommandOutput>(KMS, 'Decrypt', Decrypt$) {}
