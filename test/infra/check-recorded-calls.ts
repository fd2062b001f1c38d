// Deploy truth: every AWS call the tests saw a function make (test/support/aws-calls.ts) must be
// allowed by that function's role in the synthesized stack (and by the token key's key policy),
// or the code path fails in AWS although it passed against DynamoDB Local. Run by
// test/support/global-teardown.ts after any Jest run that recorded calls:
//   node --import tsx test/infra/check-recorded-calls.ts <records folder>
// Exits 1 naming each denied call's function, action and resource.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LambdaName } from '../../lib/routes.js';
import type { RecordedCall } from '../support/aws-calls.js';
import { ACCOUNT, type DeployedPolicies, type IamRequest, REGION, deployedPolicies, evaluate } from './iam-simulation.js';
import { DEPLOY_CONTEXT, synthesize } from './synth.js';

export function readRecords(dir: string): RecordedCall[] {
  return readdirSync(dir).filter((file) => file.endsWith('.jsonl'))
    .flatMap((file) => readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as RecordedCall));
}

const asArn = (id: string, arn: string) => (id.startsWith('arn:') ? id : arn);

/** The IAM request a recorded call is, in the deployed stack's names. */
export function requestOf(call: RecordedCall & { function: LambdaName }, policies: DeployedPolicies): IamRequest {
  const { resource } = call;
  let arn: string;
  if (resource.kind === 'table') {
    const table = resource.own ? policies.tableArn : `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${resource.name}`;
    arn = resource.index ? `${table}/index/${resource.index}` : table;
  } else if (resource.kind === 'key') {
    arn = resource.own ? policies.keyArn : asArn(resource.id, `arn:aws:kms:${REGION}:${ACCOUNT}:key/${resource.id}`);
  } else if (resource.kind === 'bus') {
    arn = resource.own ? policies.busArn : asArn(resource.name, `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${resource.name}`);
  } else if (resource.kind === 'queue') {
    // A queue URL's last segment is its name (https://sqs.<region>.amazonaws.com/<account>/<name>).
    arn = resource.own ? policies.enrichmentQueueArn : `arn:aws:sqs:${REGION}:${ACCOUNT}:${resource.url.split('/').pop()}`;
  } else {
    arn = resource.own ? policies.secretArn : asArn(resource.id, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${resource.id}`);
  }
  if (call.leadingKeys === null) {
    throw new Error(`${call.function}: the partition key of a ${call.action} call on ${arn} could not be read (from ${call.source}); teach test/support/aws-calls.ts this request shape`);
  }
  return {
    function: call.function,
    action: call.action,
    resource: arn,
    ...(call.leadingKeys ? { leadingKeys: call.leadingKeys } : {}),
    ...(call.encryptionContext ? { encryptionContext: call.encryptionContext } : {}),
    ...(call.enclosingOperation ? { enclosingOperation: call.enclosingOperation } : {}),
  };
}

/** How a call is grouped in the report: what it touched, not which customer or connection. */
function groupOf(call: RecordedCall, request: IamRequest, policies: DeployedPolicies): string {
  const where = request.resource === policies.tableArn ? 'table'
    : request.resource.startsWith(`${policies.tableArn}/index/`) ? `index ${request.resource.split('/index/')[1]}`
      : request.resource === policies.keyArn ? 'token key'
        : request.resource === policies.secretArn ? 'Finch secret'
          : request.resource === policies.busArn ? 'event bus'
            : request.resource === policies.enrichmentQueueArn ? 'enrichment queue' : request.resource;
  const keyPrefix = request.leadingKeys?.map((key) => (key.includes('#') ? `${key.split('#')[0]}#…` : key)).sort().join(',');
  const detail = call.encryptionContext ? `purpose=${call.encryptionContext.purpose ?? '(none)'}` : keyPrefix ? `key ${keyPrefix}` : '';
  return [request.action, where, detail, call.enclosingOperation ? `in ${call.enclosingOperation}` : ''].filter(Boolean).join(' ');
}

function describe(request: IamRequest, call: RecordedCall): string {
  const details = [
    request.leadingKeys ? `leading key ${request.leadingKeys.join(', ')}` : '',
    request.encryptionContext ? `encryption context ${JSON.stringify(request.encryptionContext)}` : '',
    request.enclosingOperation ? `inside ${request.enclosingOperation}` : '',
  ].filter(Boolean).join('; ');
  return `${request.function} may not call ${request.action} on ${request.resource}${details ? ` (${details})` : ''}; exercised by ${call.source}`;
}

export interface CheckReport {
  lines: string[];
  denied: string[];
}

export async function checkRecordedCalls(records: RecordedCall[]): Promise<CheckReport> {
  const attributed = records.filter((call): call is RecordedCall & { function: LambdaName } => call.function !== null);
  const unattributed = records.length - attributed.length;
  const synth = synthesize(DEPLOY_CONTEXT, { nag: false });
  let policies: DeployedPolicies;
  try {
    policies = deployedPolicies(synth);
  } finally {
    synth.cleanup();
  }
  // The same call from several test files is evaluated once.
  const distinct = new Map<string, { call: RecordedCall & { function: LambdaName }; request: IamRequest }>();
  for (const call of attributed) {
    const request = requestOf(call, policies);
    const key = JSON.stringify(request);
    if (!distinct.has(key)) distinct.set(key, { call, request });
  }
  const groups = new Map<string, { allowed: number; denied: number }>();
  const denied: string[] = [];
  for (const { call, request } of distinct.values()) {
    const decision = await evaluate(policies, request);
    const group = `${call.function}\t${groupOf(call, request, policies)}`;
    const counts = groups.get(group) ?? { allowed: 0, denied: 0 };
    if (decision === 'Allowed') counts.allowed += 1;
    else {
      counts.denied += 1;
      if (counts.denied === 1) denied.push(`${describe(request, call)} (${decision})`);
    }
    groups.set(group, counts);
  }
  const lines = [
    `IAM deploy truth: ${distinct.size} distinct AWS calls the tests saw the functions make, evaluated against the synthesized stack (iam-simulate, account ${ACCOUNT}, ${REGION}):`,
    ...[...groups].sort(([a], [b]) => a.localeCompare(b)).map(([group, { allowed, denied: no }]) => {
      const [name, what] = group.split('\t');
      return `  ${name.padEnd(15)} ${what.padEnd(64)} ${no ? `DENIED ${no}, allowed ${allowed}` : `allowed ${allowed}`}`;
    }),
  ];
  if (unattributed) lines.push(`  (${unattributed} calls made outside any function invocation — tests calling the store or cipher themselves — were not evaluated)`);
  return { lines, denied };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node --import tsx test/infra/check-recorded-calls.ts <records folder>');
    process.exit(2);
  }
  const started = Date.now();
  const records = readRecords(dir);
  if (records.length > 0) {
    const { lines, denied } = await checkRecordedCalls(records);
    console.log(`${lines.join('\n')}\n  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (denied.length > 0) {
      console.error(`\nIAM deploy truth: ${denied.length} kind(s) of call the tests exercised would be denied in AWS:\n${denied.map((line) => `  ${line}`).join('\n')}\nGrant them in lib/constructs/functions.ts (FUNCTION_SPECS), or change the code path.`);
      process.exit(1);
    }
  }
}
