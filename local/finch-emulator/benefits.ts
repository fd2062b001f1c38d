// Benefits (Finch's Deductions product, `/employer/benefits/*`): the company's deductions and
// contributions and who is enrolled in them. Reads start from the pay statements' own benefits
// (401(k) and medical, with the enrollments payroll.ts deducts); writes (create, update, register,
// enroll, unenroll) change the connection's state and answer a `job_id`, as Finch's asynchronous
// writes do. A benefit type the provider does not support, or an enrollment setting it does not,
// is 422 `unsupported_parameters` (Error Types; the provider's support is `GET /providers`).
import type {
  BenefitType, CompanyBenefit, CreateCompanyBenefitsResponse, SupportedBenefit,
} from '@tryfinch/finch-api/resources/hris/benefits/benefits';
import type { IndividualBenefit, IndividualEnrolledIDsResponse } from '@tryfinch/finch-api/resources/hris/benefits/individuals';
import { FinchApiError, invalidRequest } from './errors.js';
import { newId, uuidFromSeed } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { batchError, listParam, missing, serveData } from './data-access.js';
import { byId, moduleState, peopleOf, workersOf } from './dataset.js';
import { supportedBenefit, providerSpec } from './providers.js';
import type { EmulatedConnection } from './store.js';
import { expectBody, isObject, optionalEnum, type Fields } from './validate.js';

type SupportedType = NonNullable<BenefitType>;
type Enrollment = IndividualBenefit.IndividualBenefit;

const BENEFIT_TYPES: readonly SupportedType[] = [
  '457', '401k', '401k_roth', '401k_loan', '403b', '403b_roth', '457_roth', 'commuter', 'custom_post_tax', 'custom_pre_tax',
  'fsa_dependent_care', 'fsa_medical', 'hsa_post', 'hsa_pre', 's125_dental', 's125_medical', 's125_vision', 'simple', 'simple_ira',
];
const FREQUENCIES = ['every_paycheck', 'monthly', 'one_time'] as const;

interface BenefitsState {
  benefits: Map<string, CompanyBenefit>;
  /** benefit_id → individual_id → enrollment. */
  enrollments: Map<string, Map<string, Enrollment>>;
}

/** The company's benefits, starting from what its pay statements deduct (when the provider supports the type). */
function benefitsOf(connection: EmulatedConnection): BenefitsState {
  return moduleState(connection, 'benefits', () => {
    const state: BenefitsState = { benefits: new Map(), enrollments: new Map() };
    const active = workersOf(connection).filter((worker) => worker.is_active);
    const seed = (type: SupportedType, description: string, company_contribution: CompanyBenefit['company_contribution'],
      enrolled: Array<[string, Enrollment]>) => {
      if (!supportedBenefit(connection.provider_id, type)) return;
      const benefit_id = uuidFromSeed(`benefit:${connection.connection_id}:${type}`);
      state.benefits.set(benefit_id, { benefit_id, type, description, frequency: 'every_paycheck', company_contribution });
      state.enrollments.set(benefit_id, new Map(enrolled));
    };
    seed('401k', '401(k)', { type: 'match', tiers: [{ match: 10_000, threshold: 400 }] }, active
      .filter((worker) => worker.retirement_bp !== null)
      .map((worker) => [worker.id, {
        employee_deduction: { type: 'percent', amount: worker.retirement_bp! },
        company_contribution: { type: 'tiered', tiers: [{ match: 10_000, threshold: 400 }] },
        annual_maximum: null,
        catch_up: worker.dob !== null && worker.dob < '1975-01-01',
      }]));
    seed('s125_medical', 'Medical', null, active
      .filter((worker) => worker.medical)
      .map((worker) => [worker.id, {
        employee_deduction: { type: 'fixed', amount: 12_000 },
        company_contribution: { type: 'fixed', amount: 30_000 },
        annual_maximum: null,
        catch_up: null,
      }]));
    return state;
  });
}

function benefitOrMissing(connection: EmulatedConnection, benefit_id: string): CompanyBenefit {
  const benefit = benefitsOf(connection).benefits.get(benefit_id);
  if (!benefit) throw missing('benefit_not_found', `No benefit with id ${benefit_id} found.`);
  return benefit;
}

const unsupported = (message: string) => new FinchApiError(422, 'unprocessable_request_error', message, { finch_code: 'unsupported_parameters' });

// ---- Company benefits -----------------------------------------------------------------------

/** `GET /employer/benefits` ("Get All Deductions"). */
export function listBenefits(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'benefits', ({ connection }) => json(200, [...benefitsOf(connection).benefits.values()]));
}

/** `GET /employer/benefits/{benefit_id}` ("Get Deduction"). */
export function getBenefit(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'benefits', ({ connection }) => json(200, benefitOrMissing(connection, input.params.benefit_id)));
}

/**
 * `GET /employer/benefits/meta`: what the provider supports, one entry a benefit type (the SDK's
 * SupportedBenefit, with the `type` it describes).
 */
export function listSupportedBenefits(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'benefits', ({ connection }) => json(200, providerSpec(connection.provider_id).benefits
    .map((type): SupportedBenefit & { type: SupportedType } => ({ type, ...supportedBenefit(connection.provider_id, type)! }))));
}

/**
 * `POST /employer/benefits` ("Create Deduction"): the same type, frequency and description again
 * answers the existing benefit's id rather than making another, as Finch documents.
 */
export function createBenefit(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['type', 'description', 'frequency', 'company_contribution']);
  return serveData(input, deps, 'benefits', ({ connection }) => json(200, saveBenefit(connection, fields, true)));
}

/** `POST /employer/benefits/register` ("Register Deduction"): an existing provider benefit made known to Finch. */
export function registerBenefit(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['type', 'description', 'frequency']);
  return serveData(input, deps, 'benefits', ({ connection }) => json(200, saveBenefit(connection, fields, false)));
}

function saveBenefit(connection: EmulatedConnection, fields: Fields, withContribution: boolean): CreateCompanyBenefitsResponse {
  const type = optionalEnum(fields, 'type', BENEFIT_TYPES);
  if (!type) throw invalidRequest('type is required.');
  if (!supportedBenefit(connection.provider_id, type)) throw unsupported(`${connection.provider_id} does not support ${type} benefits.`);
  const frequency = optionalEnum(fields, 'frequency', FREQUENCIES);
  const description = typeof fields.description === 'string' && fields.description.trim() ? fields.description : null;
  if (fields.description !== undefined && description === null) throw invalidRequest('description must be a non-empty string.');
  const company_contribution = withContribution ? matchOf(fields.company_contribution) : null;
  if (company_contribution && !supportedBenefit(connection.provider_id, type)!.company_contribution?.includes('tiered')) {
    throw unsupported(`${connection.provider_id} supports no employer match for ${type} benefits.`);
  }
  const state = benefitsOf(connection);
  const same = [...state.benefits.values()]
    .find((benefit) => benefit.type === type && benefit.frequency === frequency && benefit.description === description);
  if (same) return { benefit_id: same.benefit_id, job_id: newId() };
  const benefit_id = newId();
  state.benefits.set(benefit_id, { benefit_id, type, description, frequency, company_contribution });
  state.enrollments.set(benefit_id, new Map());
  return { benefit_id, job_id: newId() };
}

function matchOf(value: unknown): CompanyBenefit['company_contribution'] {
  if (value === undefined || value === null) return null;
  if (!isObject(value) || value.type !== 'match' || !Array.isArray(value.tiers) || value.tiers.length === 0) {
    throw invalidRequest('company_contribution must be {type: "match", tiers: [{match, threshold}]}.');
  }
  return {
    type: 'match',
    tiers: value.tiers.map((tier, index) => {
      if (!isObject(tier) || !isBasisPoints(tier.match) || !isBasisPoints(tier.threshold)) {
        throw invalidRequest(`company_contribution.tiers.${index} needs match and threshold in basis points (0 to 10000).`);
      }
      return { match: tier.match, threshold: tier.threshold };
    }),
  };
}

const isBasisPoints = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 10_000;
const isCents = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;

/** `POST /employer/benefits/{benefit_id}` ("Update Deduction"): a new description. */
export function updateBenefit(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['description']);
  if (typeof fields.description !== 'string' || fields.description.trim() === '') throw invalidRequest('description must be a non-empty string.');
  return serveData(input, deps, 'benefits', ({ connection }) => {
    const benefit = benefitOrMissing(connection, input.params.benefit_id);
    benefit.description = fields.description as string;
    return json(200, { benefit_id: benefit.benefit_id, job_id: newId() });
  });
}

// ---- Enrollments ----------------------------------------------------------------------------

/** `GET /employer/benefits/{benefit_id}/enrolled` ("Get Enrolled Individuals"). */
export function enrolledIds(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'benefits', ({ connection, entity }) => {
    const benefit = benefitOrMissing(connection, input.params.benefit_id);
    const people = byId(peopleOf(connection, entity));
    const enrolled = [...benefitsOf(connection).enrollments.get(benefit.benefit_id)!.keys()].filter((id) => people.has(id));
    return json(200, { benefit_id: benefit.benefit_id, individual_ids: enrolled } satisfies IndividualEnrolledIDsResponse);
  });
}

/**
 * `GET /employer/benefits/{benefit_id}/individuals?individual_ids=a,b` ("Get Deductions for
 * Individuals"): one answer per individual (all of the entity's when none are named), each with its
 * own code; someone not enrolled is Error Types' 404 `enrollment_not_found` (named `bad_request`
 * there), someone unknown 404 `individual_not_found`.
 */
export function individualBenefits(input: RequestInput, deps: EmulatorDeps): Reply {
  const named = listParam(input.query, 'individual_ids');
  return serveData(input, deps, 'benefits', ({ connection, entity }) => {
    const benefit = benefitOrMissing(connection, input.params.benefit_id);
    const people = peopleOf(connection, entity);
    const known = byId(people);
    const enrollments = benefitsOf(connection).enrollments.get(benefit.benefit_id)!;
    const ids = named.length > 0 ? named : people.map((worker) => worker.id);
    return json(200, ids.map((individual_id): IndividualBenefit => {
      if (!known.has(individual_id)) {
        return { individual_id, code: 404, body: batchError(404, 'not_found_error', 'individual_not_found', `No individual with id ${individual_id} found.`) };
      }
      const enrollment = enrollments.get(individual_id);
      return enrollment
        ? { individual_id, code: 200, body: enrollment }
        : { individual_id, code: 404, body: batchError(404, 'bad_request', 'enrollment_not_found', `Individual ${individual_id} is not enrolled in this benefit.`) };
    }));
  });
}

/**
 * `POST /employer/benefits/{benefit_id}/individuals` ("Enroll Individuals in Deductions"): the body
 * is a JSON array of `{individual_id, configuration}` (the SDK sends `individuals` as the body
 * itself). An overwrite: enrolling again sets the enrollment anew.
 */
export function enrollIndividuals(input: RequestInput, deps: EmulatorDeps): Reply {
  if (!Array.isArray(input.body) || input.body.length === 0) {
    throw invalidRequest('The body must be a non-empty JSON array of {individual_id, configuration}.');
  }
  const items = input.body;
  return serveData(input, deps, 'benefits', ({ connection, entity }) => {
    const benefit = benefitOrMissing(connection, input.params.benefit_id);
    const support = supportedBenefit(connection.provider_id, benefit.type!)!;
    const people = byId(peopleOf(connection, entity));
    const parsed = items.map((item, index) => {
      const fields = expectItem(item, index);
      if (!people.has(fields.individual_id)) throw missing('individual_not_found', `No individual with id ${fields.individual_id} found.`);
      return { individual_id: fields.individual_id, enrollment: enrollmentOf(fields.configuration, support, benefit.type!, index) };
    });
    const enrollments = benefitsOf(connection).enrollments.get(benefit.benefit_id)!;
    for (const { individual_id, enrollment } of parsed) enrollments.set(individual_id, enrollment);
    return json(200, { job_id: newId() });
  });
}

/** `DELETE /employer/benefits/{benefit_id}/individuals {individual_ids}` ("Unenroll Individuals from Deductions"). */
export function unenrollIndividuals(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['individual_ids']);
  const ids = fields.individual_ids;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && id !== '')) {
    throw invalidRequest('individual_ids must be a non-empty array of individual ids.');
  }
  return serveData(input, deps, 'benefits', ({ connection }) => {
    const benefit = benefitOrMissing(connection, input.params.benefit_id);
    const enrollments = benefitsOf(connection).enrollments.get(benefit.benefit_id)!;
    for (const id of ids as string[]) enrollments.delete(id);
    return json(200, { job_id: newId() });
  });
}

function expectItem(item: unknown, index: number): { individual_id: string; configuration: Fields } {
  if (!isObject(item)) throw invalidRequest(`${index} must be an object.`);
  const unknown = Object.keys(item).filter((key) => key !== 'individual_id' && key !== 'configuration');
  if (unknown.length) throw invalidRequest(`Unknown fields in ${index}: ${unknown.join(', ')}.`);
  if (typeof item.individual_id !== 'string' || item.individual_id === '') throw invalidRequest(`${index}.individual_id is required.`);
  if (item.configuration !== undefined && !isObject(item.configuration)) throw invalidRequest(`${index}.configuration must be an object.`);
  return { individual_id: item.individual_id, configuration: (item.configuration ?? {}) as Fields };
}

/** An enrollment's configuration checked against what the provider supports for the benefit's type. */
function enrollmentOf(configuration: Fields, support: SupportedBenefit, type: SupportedType, index: number): Enrollment {
  const where = `${index}.configuration`;
  const known = ['employee_deduction', 'company_contribution', 'annual_maximum', 'catch_up', 'annual_contribution_limit', 'effective_date'];
  const unknown = Object.keys(configuration).filter((key) => !known.includes(key));
  if (unknown.length) throw invalidRequest(`Unknown fields in ${where}: ${unknown.join(', ')}.`);

  const deduction = configuration.employee_deduction;
  let employee_deduction: Enrollment['employee_deduction'] = null;
  if (deduction !== undefined) {
    if (!isObject(deduction) || (deduction.type !== 'fixed' && deduction.type !== 'percent') || !isCents(deduction.amount)) {
      throw invalidRequest(`${where}.employee_deduction needs type (fixed or percent) and an integer amount.`);
    }
    if (!support.employee_deduction?.includes(deduction.type)) throw unsupported(`A ${deduction.type} employee deduction is not supported for ${type}.`);
    if (deduction.type === 'percent' && !isBasisPoints(deduction.amount)) throw invalidRequest(`${where}.employee_deduction.amount is basis points (0 to 10000).`);
    employee_deduction = { type: deduction.type, amount: deduction.amount };
  }

  const contribution = configuration.company_contribution;
  let company_contribution: Enrollment['company_contribution'] = null;
  if (contribution !== undefined) {
    if (!isObject(contribution) || !['fixed', 'percent', 'tiered'].includes(contribution.type as string)) {
      throw invalidRequest(`${where}.company_contribution needs type fixed, percent or tiered.`);
    }
    const kind = contribution.type as 'fixed' | 'percent' | 'tiered';
    if (!support.company_contribution?.includes(kind)) throw unsupported(`A ${kind} company contribution is not supported for ${type}.`);
    if (kind === 'tiered') {
      const tiers = contribution.tiers;
      if (!Array.isArray(tiers) || tiers.length === 0 || !tiers.every((tier) => isObject(tier) && isBasisPoints(tier.match) && isBasisPoints(tier.threshold))) {
        throw invalidRequest(`${where}.company_contribution.tiers needs match and threshold in basis points.`);
      }
      company_contribution = { type: 'tiered', tiers: (tiers as Array<{ match: number; threshold: number }>).map(({ match, threshold }) => ({ match, threshold })) };
    } else {
      if (!isCents(contribution.amount) || (kind === 'percent' && !isBasisPoints(contribution.amount))) {
        throw invalidRequest(`${where}.company_contribution.amount must be an integer (cents, or basis points for percent).`);
      }
      company_contribution = { type: kind, amount: contribution.amount };
    }
  }

  const annualMaximum = configuration.annual_maximum;
  if (annualMaximum !== undefined && annualMaximum !== null && !isCents(annualMaximum)) throw invalidRequest(`${where}.annual_maximum must be an integer (cents).`);
  if (annualMaximum !== undefined && annualMaximum !== null && !support.annual_maximum) throw unsupported(`An annual maximum is not supported for ${type}.`);
  const catchUp = configuration.catch_up;
  if (catchUp !== undefined && typeof catchUp !== 'boolean') throw invalidRequest(`${where}.catch_up must be a boolean.`);
  if (catchUp === true && !support.catch_up) throw unsupported(`Catch-up contributions are not supported for ${type}.`);
  const limit = configuration.annual_contribution_limit;
  if (limit !== undefined && limit !== 'individual' && limit !== 'family') throw invalidRequest(`${where}.annual_contribution_limit must be individual or family.`);
  if (limit !== undefined && !support.hsa_contribution_limit?.length) throw unsupported(`A contribution limit applies only to HSA benefits, not ${type}.`);
  if (configuration.effective_date !== undefined && (typeof configuration.effective_date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(configuration.effective_date))) {
    throw invalidRequest(`${where}.effective_date must be a date (YYYY-MM-DD).`);
  }
  return {
    employee_deduction,
    company_contribution,
    annual_maximum: (annualMaximum as number | null | undefined) ?? null,
    catch_up: support.catch_up ? catchUp === true : null,
    ...(support.hsa_contribution_limit?.length ? { hsa_contribution_limit: (limit as 'individual' | 'family' | undefined) ?? null } : {}),
  };
}
