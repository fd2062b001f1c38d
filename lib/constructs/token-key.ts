// The customer-managed KMS key that encrypts access tokens (invariant 5, docs/ARCHITECTURE.md). Functions call
// Encrypt/Decrypt directly with an encryption context; which function may use which purpose is
// decided by the IAM conditions in functions.ts, not here.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** The `purpose` values of the encryption contexts the functions use. */
export type KeyPurpose = 'access_token' | 'idempotency';
export type KeyAction = 'kms:Encrypt' | 'kms:Decrypt';

export interface TokenKeyProps {
  dev: boolean;
}

export class TokenKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: TokenKeyProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'finch-connections: encrypts Finch access tokens (encryption context purpose/customer_id/connection_id)',
      enableKeyRotation: true,
      // Deleting this key makes every stored token unreadable: keep it unless this is a dev stack.
      removalPolicy: props.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(props.dev ? 7 : 30),
    });
    this.key.addAlias(`alias/${Stack.of(this).stackName}/access-tokens`);
  }

  /**
   * Lets `grantee` call `actions` only with an encryption context whose purpose is `purpose`:
   * a ciphertext made for another purpose cannot be decrypted, and none can be made.
   */
  grantFor(grantee: IGrantable, actions: KeyAction[], purpose: KeyPurpose) {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({
      effect: Effect.ALLOW,
      actions,
      resources: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:EncryptionContext:purpose': purpose } },
    }));
  }
}

