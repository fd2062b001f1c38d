// Finch's client credentials and webhook secret, as the functions read them (functions/adapters/
// secrets.ts): JSON {client_id, client_secret, webhook_secret}. Created with empty values for the
// user to fill (the functions refuse empty values with a message naming the secret), or imported.
import { NagSuppressions } from 'cdk-nag';
import { RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface FinchSecretProps {
  /** An existing secret's complete ARN; when absent the secret is created. */
  importArn?: string;
  dev: boolean;
}

export class FinchSecret extends Construct {
  readonly secret: ISecret;

  constructor(scope: Construct, id: string, props: FinchSecretProps) {
    super(scope, id);
    if (props.importArn) {
      this.secret = Secret.fromSecretCompleteArn(this, 'Secret', props.importArn);
      return;
    }
    const secret = new Secret(this, 'Secret', {
      description: 'finch-connections: Finch API credentials. Fill it before the first call: '
        + 'aws secretsmanager put-secret-value --secret-id <this ARN> --secret-string '
        + '\'{"client_id":"…","client_secret":"…","webhook_secret":"…"}\' (values from the Finch dashboard).',
      // Empty placeholders, not secrets: the real values are put after deploy, and CloudFormation
      // never writes this template value again unless it changes.
      secretObjectValue: {
        client_id: SecretValue.unsafePlainText(''),
        client_secret: SecretValue.unsafePlainText(''),
        webhook_secret: SecretValue.unsafePlainText(''),
      },
      removalPolicy: props.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(secret, [{
      id: 'AwsSolutions-SMG4',
      reason: 'Finch client credentials are issued and rotated in the Finch dashboard; no API exists for a rotation '
        + 'Lambda to rotate them. Rotate in Finch, then put the new value here (the functions re-read it within 5 minutes).',
    }]);
    this.secret = secret;
  }

  /** Only `secretsmanager:GetSecretValue`, only on this secret (the SDK's grantRead adds DescribeSecret, unused). */
  grantRead(grantee: IGrantable) {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [this.secret.secretArn],
    }));
  }
}
