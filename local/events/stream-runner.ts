// The local event-source mapping: polls DynamoDB Local's stream of the table (the dynamodb-streams
// API on DynamoDB Local's own endpoint) and invokes the real events handler with Lambda-shaped
// DynamoDBStreamEvents, as Lambda's mapping would:
// - every shard, a child only once its parent is read to its end (shard lineage: a stream's
//   records are in order per item only across a parent and its children);
// - each record turned into Lambda's record shape (`ApproximateCreationDateTime` in epoch seconds,
//   `eventSourceARN`, binary attributes in base64) and VALIDATED against Powertools' DynamoDB
//   stream schema, so the handler never sees a record AWS would not send;
// - the mapping's filter (AUDIT_STREAM_FILTER, the one the CDK mapping uses) applied;
// - a partial batch failure redelivers from the reported record (the lowest sequence number of the
//   reported ones; an empty or unknown identifier fails the whole batch), a throw the whole batch
//   (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html);
// - bounded: after `maxAttempts` invocations failing at the same record, that record goes to the
//   dead-letter file (AWS: bisect + the on-failure destination) and the records after it go on.
// Positions are kept per stream ARN in a checkpoint file, so a --persist restart resumes.
import { existsSync, readFileSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type AttributeValue, DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamRecord, DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas/dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { AUDIT_STREAM_FILTER } from '#adapters/table.js';
import { buildContext } from '../gateway/event.js';
import { matchesFilter } from './filter.js';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | void> | DynamoDBBatchResponse | void;

export interface StreamRunnerOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  tableName: string;
  handler: StreamHandler;
  functionName?: string;
  /** Records per invocation (the mapping's BatchSize; default 100). */
  batchSize?: number;
  /** Invocations failing at one record before it is dead-lettered (default 3). */
  maxAttempts?: number;
  /** Wait before a redelivery, doubled each time (default 100 ms). */
  retryDelayMs?: number;
  /** Wait between polls of a stream with nothing new (default 250 ms, Lambda polls a shard 4 times a second). */
  pollIntervalMs?: number;
  /** Where a record given up on is appended (its stream record, one JSON line). */
  deadLetterFile?: string;
  /** Where the last sequence number handled per shard is kept. */
  checkpointFile?: string;
  log?: (line: string) => void;
}

interface ShardState {
  parent?: string;
  iterator?: string;
  finished: boolean;
}

interface Checkpoints { streamArn: string; shards: Record<string, string> }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An SDK attribute value as Lambda's JSON has it: binary as base64. */
function wire(value: AttributeValue): Record<string, unknown> {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: wireMap(value.M) };
  if (value.L !== undefined) return { L: value.L.map(wire) };
  return { ...value } as Record<string, unknown>;
}
const wireMap = (map: Record<string, AttributeValue>) => Object.fromEntries(Object.entries(map).map(([key, value]) => [key, wire(value)]));

/** A record of the streams API in the shape Lambda hands the function (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html). */
export function toLambdaRecord(record: _Record, streamArn: string, region: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    // DynamoDB Local names its region `ddblocal`; Lambda gives the table's.
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor((change.ApproximateCreationDateTime ?? new Date()).getTime() / 1000),
      Keys: wireMap(change.Keys ?? {}),
      ...(change.NewImage ? { NewImage: wireMap(change.NewImage) } : {}),
      ...(change.OldImage ? { OldImage: wireMap(change.OldImage) } : {}),
      SequenceNumber: change.SequenceNumber,
      SizeBytes: change.SizeBytes,
      StreamViewType: change.StreamViewType,
    },
  } as DynamoDBRecord;
}

export class StreamRunner {
  private readonly dynamo: DynamoDBClient;
  private readonly streams: DynamoDBStreamsClient;
  private streamArn?: string;
  private readonly shards = new Map<string, ShardState>();
  private checkpoints: Checkpoints = { streamArn: '', shards: {} };
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private loop?: Promise<void>;
  /** Handler invocations so far, and records given up on. */
  readonly stats = { invocations: 0, deadLettered: 0 };

  constructor(private readonly options: StreamRunnerOptions) {
    const client = { endpoint: options.endpoint, region: options.region, credentials: options.credentials };
    this.dynamo = new DynamoDBClient(client);
    this.streams = new DynamoDBStreamsClient(client);
  }

  /** Polls in the background until stop(). */
  start(): void {
    this.loop ??= (async () => {
      while (!this.stopped) {
        let seen = 0;
        try {
          seen = await this.poll();
        } catch (error) {
          if (!this.stopped) this.log(`stream poll failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        }
        if (!seen && !this.stopped) await sleep(this.options.pollIntervalMs ?? 250);
      }
    })();
  }

  /** Polls until the stream has nothing new: every committed change has been handed to the handler. */
  async drain(): Promise<void> {
    while (await this.poll() > 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.queue.catch(() => undefined);
    this.dynamo.destroy();
    this.streams.destroy();
  }

  /** One pass over every readable shard, serialized with any other; the number of records read. */
  poll(): Promise<number> {
    const pass = this.queue.then(() => this.pass());
    this.queue = pass.catch(() => undefined);
    return pass;
  }

  private log(line: string): void {
    (this.options.log ?? console.error)(`events    ${line}`);
  }

  private async pass(): Promise<number> {
    const streamArn = await this.stream();
    await this.discoverShards(streamArn);
    let seen = 0;
    for (const [shardId, shard] of this.shards) {
      if (shard.finished || this.stopped) continue;
      // A child waits until its parent is read to its end (a parent no longer listed was trimmed).
      if (shard.parent && this.shards.get(shard.parent)?.finished === false) continue;
      seen += await this.readShard(streamArn, shardId, shard);
    }
    return seen;
  }

  private async stream(): Promise<string> {
    if (this.streamArn) return this.streamArn;
    const { Table } = await this.dynamo.send(new DescribeTableCommand({ TableName: this.options.tableName }));
    if (!Table?.LatestStreamArn || !Table.StreamSpecification?.StreamEnabled) {
      throw new Error(`table ${this.options.tableName} has no stream (createTableInput sets StreamSpecification)`);
    }
    this.streamArn = Table.LatestStreamArn;
    this.checkpoints = this.readCheckpoints(this.streamArn);
    return this.streamArn;
  }

  private async discoverShards(streamArn: string): Promise<void> {
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      for (const shard of StreamDescription?.Shards ?? []) {
        if (shard.ShardId && !this.shards.has(shard.ShardId)) this.shards.set(shard.ShardId, { parent: shard.ParentShardId, finished: false });
      }
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
  }

  private async iteratorFor(streamArn: string, shardId: string): Promise<string | undefined> {
    const after = this.checkpoints.shards[shardId];
    try {
      const { ShardIterator } = await this.streams.send(new GetShardIteratorCommand({
        StreamArn: streamArn, ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }));
      return ShardIterator;
    } catch (error) {
      // The checkpoint's record was trimmed (24 h): start from the oldest record still there.
      if (after && (error as Error).name === 'TrimmedDataAccessException') {
        delete this.checkpoints.shards[shardId];
        return this.iteratorFor(streamArn, shardId);
      }
      throw error;
    }
  }

  private async readShard(streamArn: string, shardId: string, shard: ShardState): Promise<number> {
    let seen = 0;
    for (;;) {
      shard.iterator ??= await this.iteratorFor(streamArn, shardId);
      if (!shard.iterator) { shard.finished = true; return seen; }
      let answer;
      try {
        answer = await this.streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: this.options.batchSize ?? 100 }));
      } catch (error) {
        // Iterators live 15 minutes: get a new one from the checkpoint.
        if ((error as Error).name === 'ExpiredIteratorException') { shard.iterator = undefined; continue; }
        throw error;
      }
      const records = answer.Records ?? [];
      if (records.length) {
        await this.deliver(streamArn, records);
        this.checkpoint(shardId, records[records.length - 1].dynamodb!.SequenceNumber!);
        seen += records.length;
      }
      shard.iterator = answer.NextShardIterator;
      // A closed shard read to its end has no next iterator: its children may go now.
      if (!shard.iterator) { shard.finished = true; return seen; }
      if (!records.length || this.stopped) return seen;
    }
  }

  /** Hands one GetRecords page to the handler: validated, filtered, in batches, redelivered from a failure. */
  private async deliver(streamArn: string, records: _Record[]): Promise<void> {
    const lambdaRecords: DynamoDBRecord[] = [];
    for (const record of records) {
      const shaped = toLambdaRecord(record, streamArn, this.options.region);
      const valid = DynamoDBStreamRecord.safeParse(shaped);
      if (!valid.success) {
        this.deadLetter(shaped, `not a Lambda DynamoDB stream record: ${valid.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
        continue;
      }
      if (matchesFilter(AUDIT_STREAM_FILTER, shaped)) lambdaRecords.push(shaped);
    }
    let queue = lambdaRecords;
    let attempts = 0;
    let failingAt: string | undefined;
    while (queue.length) {
      const batch = queue.slice(0, this.options.batchSize ?? 100);
      const failed = await this.invoke(batch);
      if (failed < 0) { queue = queue.slice(batch.length); attempts = 0; continue; }
      const sequenceNumber = batch[failed].dynamodb!.SequenceNumber!;
      attempts = sequenceNumber === failingAt ? attempts + 1 : 1;
      failingAt = sequenceNumber;
      queue = queue.slice(failed);
      if (attempts >= (this.options.maxAttempts ?? 3)) {
        this.deadLetter(queue[0], `failed ${attempts} times`);
        queue = queue.slice(1);
        attempts = 0;
        continue;
      }
      await sleep((this.options.retryDelayMs ?? 100) * 2 ** (attempts - 1));
    }
  }

  /** One invocation; the index of the first record to deliver again, or -1 when the batch succeeded. */
  private async invoke(batch: DynamoDBRecord[]): Promise<number> {
    const event: DynamoDBStreamEvent = { Records: batch };
    const valid = DynamoDBStreamSchema.safeParse(event);
    if (!valid.success) throw new Error(`the runner built an invalid DynamoDB stream event: ${valid.error.message}`);
    this.stats.invocations += 1;
    let response: DynamoDBBatchResponse | void;
    try {
      response = await this.options.handler(event, buildContext({ functionName: this.options.functionName ?? 'finch-connections-local-events', timeoutMs: 60_000 }));
    } catch (error) {
      this.log(`handler threw: ${error instanceof Error ? error.name : 'error'}; the whole batch of ${batch.length} is delivered again`);
      return 0;
    }
    const failures = response?.batchItemFailures ?? [];
    if (!failures.length) return -1;
    const indexes = failures.map(({ itemIdentifier }) => batch.findIndex((record) => record.dynamodb?.SequenceNumber === itemIdentifier));
    // An empty or unknown identifier fails the whole batch; otherwise the lowest one is the checkpoint.
    return indexes.some((index) => index < 0) ? 0 : Math.min(...indexes);
  }

  private deadLetter(record: unknown, reason: string): void {
    this.stats.deadLettered += 1;
    const sequenceNumber = (record as DynamoDBRecord).dynamodb?.SequenceNumber ?? '?';
    this.log(`record ${sequenceNumber} given up (${reason})${this.options.deadLetterFile ? `: appended to ${this.options.deadLetterFile}` : ''}`);
    if (!this.options.deadLetterFile) return;
    mkdirSync(dirname(this.options.deadLetterFile), { recursive: true });
    appendFileSync(this.options.deadLetterFile, `${JSON.stringify({ reason, at: new Date().toISOString(), record })}\n`);
  }

  private readCheckpoints(streamArn: string): Checkpoints {
    const file = this.options.checkpointFile;
    try {
      const stored = file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Checkpoints : undefined;
      // Another stream (an in-memory table of an earlier run): its positions mean nothing here.
      if (stored?.streamArn === streamArn) return stored;
    } catch {
      // An unreadable checkpoint file: start from the oldest record.
    }
    return { streamArn, shards: {} };
  }

  private checkpoint(shardId: string, sequenceNumber: string): void {
    this.checkpoints.shards[shardId] = sequenceNumber;
    if (this.options.checkpointFile) writeFileSync(this.options.checkpointFile, `${JSON.stringify(this.checkpoints)}\n`);
  }
}
