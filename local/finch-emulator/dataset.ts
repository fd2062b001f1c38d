// Each connection's data set: its size and entities (a test control can change them), its people
// (built once and kept), and the state Finch's writes change (benefits, enrollments, pay statement
// item rules) or that moves as it is read (pay statements still being retrieved). It hangs off the
// connection object, so `reset()` of the store drops it with the connection.
import { invalidRequest, notFound } from './errors.js';
import { companyOf, headquartersOf, workforceOf, type Worker } from './fake-data.js';
import { uuidFromSeed } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import type { EmulatedConnection } from './store.js';
import { expectBody, optionalInteger } from './validate.js';

/** Enough people that Finch's and the backend's paging (pages of 100) reach a second and third page. */
export const DEFAULT_EMPLOYEE_SIZE = 250;
export const MAX_EMPLOYEE_SIZE = 5000;
const MAX_ENTITIES = 5;

export interface Entity {
  id: string;
  name: string;
  source_id: string | null;
}

export interface Dataset {
  employee_size: number;
  /** Set only when the connection has several entities (Finch's multi-entity mode). */
  entities: Entity[] | null;
  workers: Worker[] | null;
  /** Each module's own state, made on first use (benefits.ts, rules.ts, payroll.ts), typed there. */
  state: Map<string, unknown>;
}

const datasets = new WeakMap<EmulatedConnection, Dataset>();

export function datasetOf(connection: EmulatedConnection): Dataset {
  let dataset = datasets.get(connection);
  if (!dataset) {
    dataset = { employee_size: DEFAULT_EMPLOYEE_SIZE, entities: null, workers: null, state: new Map() };
    datasets.set(connection, dataset);
  }
  return dataset;
}

/** A module's own state on the data set, made by `create` the first time. */
export function moduleState<T>(connection: EmulatedConnection, key: string, create: () => T): T {
  const { state } = datasetOf(connection);
  if (!state.has(key)) state.set(key, create());
  return state.get(key) as T;
}

/** Every entity of the connection: its own (the token's `entity_ids`), and the others a multi-entity connection covers. */
export function entitiesOf(connection: EmulatedConnection): Entity[] {
  return datasetOf(connection).entities ?? [{ id: connection.entity_id, name: connection.customer_name, source_id: null }];
}

/** Whether Finch would list the connection's entities (introspect `entities`): only in multi-entity mode. */
export const isMultiEntity = (connection: EmulatedConnection): boolean => datasetOf(connection).entities !== null;

export function workersOf(connection: EmulatedConnection): Worker[] {
  const dataset = datasetOf(connection);
  dataset.workers ??= workforceOf({
    connection_id: connection.connection_id,
    customer_id: connection.customer_id,
    employee_size: dataset.employee_size,
    entity_count: entitiesOf(connection).length,
    headquarters: entitiesOf(connection).map((entity) => headquartersOf(entity.id)),
  });
  return dataset.workers;
}

/** The entity's people: everyone on a single-entity connection. */
export const peopleOf = (connection: EmulatedConnection, entity: number): Worker[] =>
  workersOf(connection).filter((worker) => worker.entity === entity);

export const byId = (workers: Worker[]): Map<string, Worker> => new Map(workers.map((worker) => [worker.id, worker]));

/** The company as one entity reads it: a single-entity connection's is the connection's company. */
export function companyOfEntity(connection: EmulatedConnection, entity: number) {
  const entities = entitiesOf(connection);
  const multi = isMultiEntity(connection);
  return companyOf({
    id: multi ? entities[entity].id : connection.company_id,
    legal_name: multi ? `${connection.customer_name} (${entities[entity].name})` : connection.customer_name,
    customer_id: connection.customer_id,
    seed: multi ? entities[entity].id : connection.customer_id,
    headquarters: headquartersOf(entities[entity].id),
  });
}

/**
 * `POST /_emulator/connections/{connection_id}/data {employee_size?, entities?}`: how many people
 * the connection's provider has (0..5000, default 250) and how many entities it covers (1..5;
 * more than one is Finch's multi-entity mode, where each data request names one in `entity_ids`).
 * The people are rebuilt, and the state made from them (benefits, enrollments, payments, rules) starts over.
 */
export function configureDataset(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['employee_size', 'entities']);
  const connection = deps.store.connections.get(input.params.connection_id);
  if (!connection) throw notFound(`Connection ${input.params.connection_id} not found.`, 'connection_not_found');
  const size = optionalInteger(fields, 'employee_size', 0, MAX_EMPLOYEE_SIZE);
  const entityCount = optionalInteger(fields, 'entities', 1, MAX_ENTITIES);
  if (size === null && entityCount === null) throw invalidRequest('Give employee_size or entities.');
  const dataset = datasetOf(connection);
  if (size !== null) dataset.employee_size = size;
  if (entityCount !== null) {
    dataset.entities = entityCount === 1 ? null : Array.from({ length: entityCount }, (_, index) => ({
      id: index === 0 ? connection.entity_id : uuidFromSeed(`entity:${connection.connection_id}:${index}`),
      name: ['East', 'West', 'North', 'South', 'Central'][index],
      source_id: `ENT-${index + 1}`,
    }));
  }
  dataset.workers = null;
  dataset.state.clear();
  return json(200, {
    connection_id: connection.connection_id,
    employee_size: dataset.employee_size,
    entities: isMultiEntity(connection) ? entitiesOf(connection) : [],
  });
}
