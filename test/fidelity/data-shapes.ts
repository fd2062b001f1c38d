// Run-time schemas of the SDK's data resource types, written from the SDK's `.d.ts` files
// (@tryfinch/finch-api v10, resources/hris/**, resources/payroll/**, resources/providers.d.ts).
// Each schema `satisfies z.ZodType<SdkType>`: if it left out a field the SDK requires, or allowed a
// value the SDK's enum does not have, tsc fails. At run time a schema checks what the emulator
// really sent (the SDK does not validate answers): required fields present, enums within their
// values, and no field the SDK does not know (strict objects), so the emulator invents nothing.
import { z } from 'zod';
import type { Company } from '@tryfinch/finch-api/resources/hris/company';
import type { IndividualInDirectory } from '@tryfinch/finch-api/resources/hris/directory';
import type { EmploymentData, EmploymentDataResponse } from '@tryfinch/finch-api/resources/hris/employments';
import type { Income, Location, Money } from '@tryfinch/finch-api/resources/hris/hris';
import type { Individual, IndividualResponse } from '@tryfinch/finch-api/resources/hris/individuals';
import type { Payment } from '@tryfinch/finch-api/resources/hris/payments';
import type {
  PayStatement, PayStatementData, PayStatementDataSyncInProgress, PayStatementResponse,
} from '@tryfinch/finch-api/resources/hris/pay-statements';
import type { PayStatementItemListResponse } from '@tryfinch/finch-api/resources/hris/pay-statement-item/pay-statement-item';
import type { RuleCreateResponse, RuleDeleteResponse } from '@tryfinch/finch-api/resources/hris/pay-statement-item/rules';
import type {
  CompanyBenefit, CreateCompanyBenefitsResponse, SupportedBenefit,
} from '@tryfinch/finch-api/resources/hris/benefits/benefits';
import type {
  EnrolledIndividualBenefitResponse, IndividualBenefit, IndividualEnrolledIDsResponse,
} from '@tryfinch/finch-api/resources/hris/benefits/individuals';
import type { DocumentListResponse, DocumentResponse, W42005, W42020 } from '@tryfinch/finch-api/resources/hris/documents';
import type { PayGroupListResponse, PayGroupRetrieveResponse } from '@tryfinch/finch-api/resources/payroll/pay-groups';
import type { ProviderListResponse } from '@tryfinch/finch-api/resources/providers';
import type { Paging } from '@tryfinch/finch-api/resources/shared';

/** Finch's pages for the data resources, cited by the tests. */
export const DATA_DOCS = {
  permissions: 'https://developer.tryfinch.com/api-reference/development-guides/Permissions',
  errorTypes: 'https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types',
  batch: 'https://developer.tryfinch.com/implementation-guide/API-Calls/Batch-Requests',
  dataSyncs: 'https://developer.tryfinch.com/developer-resources/Data-Syncs',
  multiEntity: 'https://developer.tryfinch.com/implementation-guide/Backend-Application/Manage-Connections',
  company: 'https://developer.tryfinch.com/api-reference/organization/company',
  directory: 'https://developer.tryfinch.com/api-reference/organization/directory',
  individual: 'https://developer.tryfinch.com/api-reference/organization/individual',
  employment: 'https://developer.tryfinch.com/api-reference/organization/employment',
  payment: 'https://developer.tryfinch.com/api-reference/payroll/payment',
  payStatement: 'https://developer.tryfinch.com/api-reference/payroll/pay-statement',
  payGroups: 'https://developer.tryfinch.com/api-reference/payroll/get-pay-groups',
  payGroup: 'https://developer.tryfinch.com/api-reference/payroll/get-pay-group',
  payStatementItems: 'https://developer.tryfinch.com/api-reference/payroll/get-pay-statement-items',
  rules: 'https://developer.tryfinch.com/developer-resources/Pay-Statement-Items-Rules',
  createRule: 'https://developer.tryfinch.com/api-reference/payroll/create-rule',
  getRules: 'https://developer.tryfinch.com/api-reference/payroll/get-rules',
  deductions: 'https://developer.tryfinch.com/api-reference/deductions/get-all-deductions',
  getDeduction: 'https://developer.tryfinch.com/api-reference/deductions/get-deduction',
  createDeduction: 'https://developer.tryfinch.com/api-reference/deductions/create-deduction',
  registerDeduction: 'https://developer.tryfinch.com/api-reference/deductions/register-deduction',
  updateDeduction: 'https://developer.tryfinch.com/api-reference/deductions/update-deduction',
  enrolled: 'https://developer.tryfinch.com/api-reference/deductions/get-enrolled-individuals',
  individualDeductions: 'https://developer.tryfinch.com/api-reference/deductions/get-deductions-for-individuals',
  enroll: 'https://developer.tryfinch.com/api-reference/deductions/enroll-individuals-in-deductions',
  unenroll: 'https://developer.tryfinch.com/api-reference/deductions/unenroll-individuals-from-deductions',
  documents: 'https://developer.tryfinch.com/api-reference/documents/get-documents',
  document: 'https://developer.tryfinch.com/api-reference/documents/get-document',
  providers: 'https://developer.tryfinch.com/api-reference/management/providers',
} as const;

const nullableString = z.string().nullable();
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

export const PagingSchema = z.strictObject({ offset: z.number().int(), count: z.number().int().optional() }) satisfies z.ZodType<Paging>;

export const LocationSchema = z.strictObject({
  line1: nullableString, line2: nullableString, city: nullableString, state: nullableString, postal_code: nullableString,
  country: nullableString, name: nullableString.optional(), source_id: nullableString.optional(),
}) satisfies z.ZodType<Location>;

export const MoneySchema = z.strictObject({ amount: z.number().int().nullable(), currency: z.string() }) satisfies z.ZodType<Money>;

export const IncomeSchema = z.strictObject({
  amount: z.number().int().nullable(), currency: nullableString, effective_date: date.nullable(),
  unit: z.enum(['yearly', 'quarterly', 'monthly', 'semi_monthly', 'bi_weekly', 'weekly', 'daily', 'hourly', 'fixed']).nullable(),
}) satisfies z.ZodType<Income>;

export const CompanySchema = z.strictObject({
  id: uuid,
  accounts: z.array(z.strictObject({
    account_name: nullableString, account_number: nullableString, account_type: z.enum(['checking', 'savings']).nullable(),
    institution_name: nullableString, routing_number: nullableString,
  })).nullable(),
  departments: z.array(z.strictObject({ name: nullableString, parent: z.strictObject({ name: nullableString }).nullable() }).nullable()).nullable(),
  ein: nullableString,
  entity: z.strictObject({
    subtype: z.enum(['s_corporation', 'c_corporation', 'b_corporation']).nullable(),
    type: z.enum(['llc', 'lp', 'corporation', 'sole_proprietor', 'non_profit', 'partnership', 'cooperative']).nullable(),
  }).nullable(),
  legal_name: nullableString,
  locations: z.array(LocationSchema.nullable()).nullable(),
  primary_email: nullableString,
  // "Format: E.164, with extension where applicable" (the SDK's doc of the field).
  primary_phone_number: z.string().regex(/^\+\d{8,15}( x\d+)?$/).nullable(),
}) satisfies z.ZodType<Company>;

export const DirectoryEntrySchema = z.strictObject({
  id: uuid,
  department: z.strictObject({ name: nullableString.optional() }).nullable(),
  first_name: nullableString,
  is_active: z.boolean().nullable(),
  last_name: nullableString,
  manager: z.strictObject({ id: uuid }).nullable(),
  middle_name: nullableString,
}) satisfies z.ZodType<IndividualInDirectory>;

export const DirectorySchema = z.strictObject({ paging: PagingSchema, individuals: z.array(DirectoryEntrySchema) });

/** Finch's error body inside a batch ("Batch Requests"; the SDK's BatchError). */
export const BatchErrorSchema = z.strictObject({
  code: z.number().int(), message: z.string(), name: z.string(), finch_code: z.string().optional(),
}) satisfies z.ZodType<Individual.BatchError>;

export const IndividualBodySchema = z.strictObject({
  id: uuid,
  dob: date.nullable(),
  ethnicity: z.enum([
    'asian', 'white', 'black_or_african_american', 'native_hawaiian_or_pacific_islander', 'american_indian_or_alaska_native',
    'hispanic_or_latino', 'two_or_more_races', 'decline_to_specify',
  ]).nullable(),
  first_name: nullableString,
  gender: z.enum(['female', 'male', 'other', 'decline_to_specify']).nullable(),
  last_name: nullableString,
  marital_status: z.enum(['single', 'married', 'divorced', 'widowed', 'domestic_partner', 'unknown']).nullable(),
  middle_name: nullableString,
  phone_numbers: z.array(z.strictObject({ data: nullableString, type: z.enum(['work', 'personal']).nullable() }).nullable()).nullable(),
  preferred_name: nullableString,
  residence: LocationSchema.nullable(),
  emails: z.array(z.strictObject({ data: z.string(), type: z.enum(['work', 'personal']).nullable() })).nullish(),
  encrypted_ssn: nullableString.optional(),
  ssn: nullableString.optional(),
}) satisfies z.ZodType<Individual.IndividualResponseBody>;

export const IndividualResponseSchema = z.strictObject({
  individual_id: z.string(), code: z.number().int(), body: z.union([IndividualBodySchema, BatchErrorSchema]),
}) satisfies z.ZodType<IndividualResponse>;

export const EmploymentBodySchema = z.strictObject({
  id: uuid,
  class_code: nullableString,
  department: z.strictObject({ name: nullableString }).nullable(),
  employment: z.strictObject({
    subtype: z.enum(['full_time', 'intern', 'part_time', 'temp', 'seasonal', 'individual_contractor']).nullable(),
    type: z.enum(['employee', 'contractor']).nullable(),
  }).nullable(),
  employment_status: z.enum(['active', 'deceased', 'leave', 'onboarding', 'prehire', 'retired', 'terminated']).nullable(),
  end_date: date.nullable(),
  first_name: nullableString,
  flsa_status: z.enum(['exempt', 'non_exempt', 'unknown']).nullable(),
  highly_compensated_employee: z.boolean().nullable(),
  is_active: z.boolean().nullable(),
  key_employee: z.boolean().nullable(),
  last_name: nullableString,
  latest_rehire_date: date.nullable(),
  location: LocationSchema.nullable(),
  manager: z.strictObject({ id: uuid }).nullable(),
  middle_name: nullableString,
  start_date: date.nullable(),
  title: nullableString,
  union_code: nullableString,
  union_local: nullableString,
  custom_fields: z.array(z.strictObject({ name: nullableString.optional(), value: z.unknown().optional() })).nullish(),
  income: IncomeSchema.nullish(),
  income_history: z.array(IncomeSchema.nullable()).nullish(),
  source_id: nullableString.optional(),
  work_id: nullableString.optional(),
}) satisfies z.ZodType<EmploymentData.EmploymentDataResponseBody>;

export const EmploymentResponseSchema = z.strictObject({
  individual_id: z.string(), code: z.number().int(), body: z.union([EmploymentBodySchema, BatchErrorSchema]),
}) satisfies z.ZodType<EmploymentDataResponse>;

const FREQUENCY = z.enum(['annually', 'bi_weekly', 'daily', 'monthly', 'other', 'quarterly', 'semi_annually', 'semi_monthly', 'weekly']);

export const PaymentSchema = z.strictObject({
  id: uuid,
  company_debit: MoneySchema.nullable(),
  debit_date: date.nullable(),
  employee_taxes: MoneySchema.nullable(),
  employer_taxes: MoneySchema.nullable(),
  gross_pay: MoneySchema.nullable(),
  individual_ids: z.array(uuid).nullable(),
  net_pay: MoneySchema.nullable(),
  pay_date: date.nullable(),
  pay_frequencies: z.array(FREQUENCY).nullable(),
  pay_group_ids: z.array(uuid).nullable(),
  pay_period: z.strictObject({ end_date: date.nullable(), start_date: date.nullable() }).nullable(),
}) satisfies z.ZodType<Payment>;

const BENEFIT_TYPE = z.enum([
  '457', '401k', '401k_roth', '401k_loan', '403b', '403b_roth', '457_roth', 'commuter', 'custom_post_tax', 'custom_pre_tax',
  'fsa_dependent_care', 'fsa_medical', 'hsa_post', 'hsa_pre', 's125_dental', 's125_medical', 's125_vision', 'simple', 'simple_ira',
]);
const attributes = z.strictObject({ metadata: z.record(z.string(), z.unknown()) }).nullish();

export const PayStatementSchema = z.strictObject({
  earnings: z.array(z.strictObject({
    amount: z.number().int().nullable(), currency: nullableString, hours: z.number().nullable(), name: nullableString,
    type: z.enum(['salary', 'wage', 'reimbursement', 'overtime', 'severance', 'double_overtime', 'pto', 'sick', 'bonus', 'commission', 'tips', '1099', 'other']).nullable(),
    attributes,
  }).nullable()).nullable(),
  employee_deductions: z.array(z.strictObject({
    amount: z.number().int().nullable(), currency: nullableString, name: nullableString, pre_tax: z.boolean().nullable(),
    type: BENEFIT_TYPE.nullable(), attributes,
  })).nullable(),
  employer_contributions: z.array(z.strictObject({
    currency: nullableString, name: nullableString, type: BENEFIT_TYPE.nullable(), amount: z.number().int().nullish(), attributes,
  })).nullable(),
  gross_pay: MoneySchema.nullable(),
  individual_id: uuid,
  net_pay: MoneySchema.nullable(),
  payment_method: z.enum(['check', 'direct_deposit', 'other']).nullable(),
  taxes: z.array(z.strictObject({
    currency: nullableString, employer: z.boolean().nullable(), name: nullableString,
    type: z.enum(['state', 'federal', 'local', 'fica']).nullable(), amount: z.number().int().nullish(), attributes,
  })).nullable(),
  total_hours: z.number().nullable(),
  type: z.enum(['off_cycle_payroll', 'one_time_payment', 'regular_payroll']).nullable(),
}) satisfies z.ZodType<PayStatement>;

export const PayStatementDataSchema = z.strictObject({
  paging: z.strictObject({ offset: z.number().int(), count: z.number().int().optional() }),
  pay_statements: z.array(PayStatementSchema),
}) satisfies z.ZodType<PayStatementData>;

/** The SDK fixes this body word for word. */
export const SyncInProgressSchema = z.strictObject({
  code: z.literal(202),
  finch_code: z.literal('data_sync_in_progress'),
  message: z.literal('The pay statements for this payment are being fetched. Please check back later.'),
  name: z.literal('accepted'),
}) satisfies z.ZodType<PayStatementDataSyncInProgress>;

export const PayStatementResponseSchema = z.strictObject({
  payment_id: z.string(), code: z.number().int(), body: z.union([PayStatementDataSchema, SyncInProgressSchema, BatchErrorSchema]),
}) satisfies z.ZodType<PayStatementResponse>;

export const PayGroupSchema = z.strictObject({ id: uuid, name: z.string(), pay_frequencies: z.array(FREQUENCY) }) satisfies z.ZodType<PayGroupListResponse>;
export const PayGroupDetailSchema = PayGroupSchema.extend({ individual_ids: z.array(uuid) }) satisfies z.ZodType<PayGroupRetrieveResponse>;

export const PayStatementItemSchema = z.strictObject({
  name: z.string(),
  category: z.enum(['earnings', 'taxes', 'employee_deductions', 'employer_contributions']),
  attributes: z.strictObject({
    metadata: z.record(z.string(), z.unknown()).nullable(),
    employer: z.boolean().nullish(),
    pre_tax: z.boolean().nullish(),
    type: nullableString.optional(),
  }),
}) satisfies z.ZodType<PayStatementItemListResponse>;

const RuleFields = {
  id: uuid,
  attributes: z.strictObject({ metadata: z.record(z.string(), z.unknown()).optional() }).optional(),
  conditions: z.array(z.strictObject({ field: z.string().optional(), operator: z.literal('equals').optional(), value: z.string().optional() })).optional(),
  created_at: z.iso.datetime().optional(),
  effective_end_date: date.nullish(),
  effective_start_date: date.nullish(),
  entity_type: z.literal('pay_statement_item').optional(),
  priority: z.number().int().optional(),
  updated_at: z.iso.datetime().optional(),
};
export const RuleSchema = z.strictObject(RuleFields) satisfies z.ZodType<RuleCreateResponse>;
export const DeletedRuleSchema = z.strictObject({ ...RuleFields, deleted_at: z.iso.datetime() }) satisfies z.ZodType<RuleDeleteResponse>;

const tiers = z.array(z.strictObject({ match: z.number().int(), threshold: z.number().int() }));

export const CompanyBenefitSchema = z.strictObject({
  benefit_id: z.string(),
  description: nullableString,
  frequency: z.enum(['every_paycheck', 'monthly', 'one_time']).nullable(),
  type: BENEFIT_TYPE.nullable(),
  company_contribution: z.strictObject({ tiers, type: z.literal('match') }).nullish(),
}) satisfies z.ZodType<CompanyBenefit>;

/**
 * `GET /employer/benefits/meta`. The emulator adds the `type` each entry describes (Finch's older
 * reference had it; v10's SupportedBenefit does not list it): the one field allowed beyond the SDK's.
 */
export const SupportedBenefitSchema = z.strictObject({
  type: BENEFIT_TYPE,
  annual_maximum: z.boolean().nullable(),
  company_contribution: z.array(z.enum(['fixed', 'percent', 'tiered']).nullable()).nullable(),
  description: nullableString,
  employee_deduction: z.array(z.enum(['fixed', 'percent']).nullable()).nullable(),
  frequencies: z.array(z.enum(['every_paycheck', 'monthly', 'one_time']).nullable()),
  catch_up: z.boolean().nullish(),
  hsa_contribution_limit: z.array(z.enum(['family', 'individual']).nullable()).nullish(),
}) satisfies z.ZodType<SupportedBenefit>;

export const JobSchema = z.strictObject({ job_id: uuid }) satisfies z.ZodType<EnrolledIndividualBenefitResponse>;
export const BenefitJobSchema = z.strictObject({ benefit_id: z.string(), job_id: uuid }) satisfies z.ZodType<CreateCompanyBenefitsResponse>;
export const EnrolledIdsSchema = z.strictObject({ benefit_id: z.string(), individual_ids: z.array(uuid) }) satisfies z.ZodType<IndividualEnrolledIDsResponse>;

const amount = (type: 'fixed' | 'percent') => z.strictObject({ amount: z.number().int(), type: z.literal(type) });
export const EnrollmentSchema = z.strictObject({
  annual_maximum: z.number().int().nullable(),
  catch_up: z.boolean().nullable(),
  company_contribution: z.union([amount('fixed'), amount('percent'), z.strictObject({ tiers, type: z.literal('tiered') })]).nullable(),
  employee_deduction: z.union([amount('fixed'), amount('percent')]).nullable(),
  hsa_contribution_limit: z.enum(['individual', 'family']).nullish(),
}) satisfies z.ZodType<IndividualBenefit.IndividualBenefit>;

export const IndividualBenefitSchema = z.strictObject({
  individual_id: z.string(), code: z.number().int(), body: z.union([EnrollmentSchema, BatchErrorSchema]),
}) satisfies z.ZodType<IndividualBenefit>;

export const DocumentSchema = z.strictObject({
  id: uuid, individual_id: uuid.nullable(), type: z.enum(['w4_2020', 'w4_2005']), url: z.url(), year: z.number().int(),
}) satisfies z.ZodType<DocumentResponse>;

export const DocumentListSchema = z.strictObject({ documents: z.array(DocumentSchema), paging: PagingSchema }) satisfies z.ZodType<DocumentListResponse>;

export const W42020Schema = z.strictObject({
  type: z.literal('w4_2020'),
  year: z.number().int(),
  data: z.strictObject({
    amount_for_other_dependents: z.number().int(), amount_for_qualifying_children_under_17: z.number().int(), deductions: z.number().int(),
    extra_withholding: z.number().int(),
    filing_status: z.enum(['head_of_household', 'married_filing_jointly_or_qualifying_surviving_spouse', 'single_or_married_filing_separately']).nullable(),
    individual_id: uuid, other_income: z.number().int(), total_claim_dependent_and_other_credits: z.number().int(),
  }),
}) satisfies z.ZodType<W42020>;

export const W42005Schema = z.strictObject({
  type: z.literal('w4_2005'),
  year: z.number().int(),
  data: z.strictObject({
    additional_withholding: z.number().int(), exemption: z.enum(['exempt', 'non_exempt']).nullable(),
    filing_status: z.enum(['married', 'married_but_withhold_at_higher_single_rate', 'single']).nullable(),
    individual_id: uuid, total_number_of_allowances: z.number().int(),
  }),
}) satisfies z.ZodType<W42005>;

export const ProviderSchema = z.strictObject({
  id: z.string(),
  display_name: z.string(),
  products: z.array(z.string()),
  authentication_methods: z.array(z.strictObject({
    type: z.enum(['assisted', 'credential', 'api_token', 'api_credential', 'oauth', 'api']),
    benefits_support: z.record(z.string(), z.unknown()).optional(),
    supported_fields: z.record(z.string(), z.unknown()).optional(),
  })).optional(),
  beta: z.boolean().optional(),
  icon: z.string().optional(),
  logo: z.string().optional(),
  manual: z.boolean().optional(),
  mfa_required: z.boolean().optional(),
  primary_color: z.string().regex(/^#[0-9a-f]{6}$/i).optional(),
}) satisfies z.ZodType<ProviderListResponse>;

/** Parses `value` with `schema`; a failure names every path that does not fit the SDK's type. */
export function expectShape<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`not the SDK's shape:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
