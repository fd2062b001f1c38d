// Documents (beta at Finch: W-4 forms only): every employee has the W-4 of the year they started,
// the 2020 form for those who started in 2020 or later and the 2005 one before. Contractors file
// no W-4. Ids and contents are deterministic per connection and person.
import type {
  DocumentListResponse, DocumentResponse, DocumentRetreiveResponse,
} from '@tryfinch/finch-api/resources/hris/documents';
import { invalidRequest } from './errors.js';
import { seeded, type Worker } from './fake-data.js';
import { uuidFromSeed } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { countParam, listParam, missing, serveData, type DataScope } from './data-access.js';
import { peopleOf } from './dataset.js';

const TYPES = ['w4_2020', 'w4_2005'] as const;

interface W4 {
  document: DocumentResponse;
  worker: Worker;
}

function w4sOf({ connection, entity, deps }: DataScope): W4[] {
  return peopleOf(connection, entity).filter((worker) => worker.kind !== 'contractor').map((worker) => {
    const id = uuidFromSeed(`document:${connection.connection_id}:${worker.pool_index}`);
    const year = Number(worker.start_date.slice(0, 4));
    return {
      worker,
      document: {
        id,
        individual_id: worker.id,
        type: year >= 2020 ? 'w4_2020' : 'w4_2005',
        year,
        // Finch's format: `https://api.tryfinch.com/employer/documents/:document_id`, on the emulator's origin.
        url: `${deps.baseUrl()}/employer/documents/${id}`,
      },
    };
  });
}

/**
 * `GET /employer/documents?individual_ids[]&types[]&limit&offset` ("List Documents"):
 * `{documents, paging: {count, offset}}`, all of them unless `limit` says otherwise.
 */
export function listDocuments(input: RequestInput, deps: EmulatorDeps): Reply {
  const individuals = listParam(input.query, 'individual_ids');
  const types = listParam(input.query, 'types');
  if (types.some((type) => !(TYPES as readonly string[]).includes(type))) throw invalidRequest(`types must be among ${TYPES.join(', ')}.`);
  const limit = countParam(input.query, 'limit');
  const offset = countParam(input.query, 'offset') ?? 0;
  return serveData(input, deps, 'documents', (scope) => {
    const matching = w4sOf(scope)
      .map((w4) => w4.document)
      .filter((document) => individuals.length === 0 || individuals.includes(document.individual_id ?? ''))
      .filter((document) => types.length === 0 || types.includes(document.type));
    const page = matching.slice(offset, limit === null ? undefined : offset + limit);
    return json(200, { documents: page, paging: { count: matching.length, offset } } satisfies DocumentListResponse);
  });
}

/** `GET /employer/documents/{document_id}` ("Get Document"): the form's data; unknown → 404 `item_not_found`. */
export function getDocument(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'documents', (scope) => {
    const w4 = w4sOf(scope).find((candidate) => candidate.document.id === input.params.document_id);
    if (!w4) throw missing('item_not_found', `No document with id ${input.params.document_id} found.`);
    return json(200, formOf(w4));
  });
}

function formOf({ document, worker }: W4): DocumentRetreiveResponse {
  const next = seeded(`w4:${document.id}`);
  const children = next() % 3;
  const others = next() % 2;
  if (document.type === 'w4_2020') {
    return {
      type: 'w4_2020',
      year: document.year,
      data: {
        individual_id: worker.id,
        filing_status: (['single_or_married_filing_separately', 'married_filing_jointly_or_qualifying_surviving_spouse', 'head_of_household'] as const)[next() % 3],
        amount_for_qualifying_children_under_17: children * 200_000,
        amount_for_other_dependents: others * 50_000,
        total_claim_dependent_and_other_credits: children * 200_000 + others * 50_000,
        other_income: (next() % 4) * 100_000,
        deductions: (next() % 3) * 150_000,
        extra_withholding: (next() % 5) * 2_500,
      },
    };
  }
  return {
    type: 'w4_2005',
    year: document.year,
    data: {
      individual_id: worker.id,
      filing_status: (['single', 'married', 'married_but_withhold_at_higher_single_rate'] as const)[next() % 3],
      total_number_of_allowances: 1 + children + others,
      additional_withholding: (next() % 5) * 2_500,
      exemption: 'non_exempt',
    },
  };
}
