// Finch's organization data: company, directory, individual and employment, for the entity the
// request names. Payroll is in payroll.ts, benefits.ts, documents.ts; the checks every data
// endpoint makes first (status, product, entity) in data-access.ts; the people in fake-data.ts.
import type { EmploymentDataResponse } from '@tryfinch/finch-api/resources/hris/employments';
import type { IndividualResponse } from '@tryfinch/finch-api/resources/hris/individuals';
import type { IndividualsPageResponse } from '@tryfinch/finch-api/core/pagination';
import { directoryEntryOf, employmentOf, individualOf } from './fake-data.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { batchError, batchIds, countParam, serveData } from './data-access.js';
import { byId, companyOfEntity, peopleOf } from './dataset.js';
import { expectBody, isObject } from './validate.js';

export function company(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'company', ({ connection, entity }) => json(200, companyOfEntity(connection, entity)));
}

/**
 * `GET /employer/directory`: the entity's people in a stable order, paged by `limit` (default all)
 * and `offset` with `paging: {count, offset}` (the SDK's IndividualsPage walks it).
 */
export function directory(input: RequestInput, deps: EmulatorDeps): Reply {
  const limit = countParam(input.query, 'limit');
  const offset = countParam(input.query, 'offset') ?? 0;
  return serveData(input, deps, 'directory', ({ connection, entity }) => {
    const everyone = peopleOf(connection, entity);
    const page = everyone.slice(offset, limit === null ? undefined : offset + limit);
    return json(200, { paging: { count: everyone.length, offset }, individuals: page.map(directoryEntryOf) } satisfies IndividualsPageResponse);
  });
}

/** `POST /employer/individual`: one answer per requested id, 404 `individual_not_found` inside the batch for unknown ones. */
export function individuals(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['requests', 'options']);
  const ids = batchIds(fields.requests, 'individual_id');
  const include = isObject(fields.options) && Array.isArray(fields.options.include) ? fields.options.include : [];
  return serveData(input, deps, 'individual', ({ connection, entity }) => {
    const withSsn = connection.products.includes('ssn') && include.includes('ssn');
    const people = byId(peopleOf(connection, entity));
    return json(200, {
      responses: ids.map((individual_id): IndividualResponse => {
        const worker = people.get(individual_id);
        return worker
          ? { individual_id, code: 200, body: individualOf(worker, withSsn) }
          : { individual_id, code: 404, body: individualNotFound(individual_id) };
      }),
    });
  });
}

/** `POST /employer/employment`: like `/individual`, with job, pay and manager. */
export function employments(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['requests']);
  const ids = batchIds(fields.requests, 'individual_id');
  return serveData(input, deps, 'employment', ({ connection, entity }) => {
    const people = byId(peopleOf(connection, entity));
    return json(200, {
      responses: ids.map((individual_id): EmploymentDataResponse => {
        const worker = people.get(individual_id);
        return worker
          ? { individual_id, code: 200, body: employmentOf(worker) }
          : { individual_id, code: 404, body: individualNotFound(individual_id) };
      }),
    });
  });
}

const individualNotFound = (id: string) =>
  batchError(404, 'not_found_error', 'individual_not_found', `No individual with id ${id} found.`);
