// `GET /providers` (https://developer.tryfinch.com/api-reference/management/providers): the
// payroll and HR systems the hosted page offers, with the products and, per authentication
// method, the benefit types and features they support (`benefits_support`, which the Deductions
// guide says to read before writing benefits). Finch answers it without an access token.
import type { BenefitType, SupportedBenefit } from '@tryfinch/finch-api/resources/hris/benefits/benefits';
import type { ProviderListResponse } from '@tryfinch/finch-api/resources/providers';
import type { OperationSupportMatrix } from '@tryfinch/finch-api/resources/shared';
import { json, type Reply } from './context.js';
import { PROVIDERS } from './hosted-page.js';

type SupportedType = NonNullable<BenefitType>;

const RETIREMENT: readonly SupportedType[] = ['401k', '401k_roth', '401k_loan', '403b', '403b_roth', '457', '457_roth', 'simple', 'simple_ira'];
const HEALTH: readonly SupportedType[] = ['s125_medical', 's125_dental', 's125_vision'];
const PAYROLL_PRODUCTS = ['company', 'directory', 'individual', 'ssn', 'employment', 'payment', 'pay_statement', 'benefits'];

interface ProviderSpec {
  products: string[];
  authentication: Array<ProviderListResponse.AuthenticationMethod['type']>;
  benefits: readonly SupportedType[];
  primary_color: string;
  mfa_required: boolean;
}

/** The emulator's providers (ids from the hosted page's list); their support is the emulator's own, not Finch's matrix. */
const SPECS: Record<string, ProviderSpec> = {
  gusto: {
    products: [...PAYROLL_PRODUCTS, 'documents'], authentication: ['oauth'], primary_color: '#f45d48', mfa_required: false,
    benefits: ['401k', '401k_roth', '401k_loan', '403b', 'simple_ira', ...HEALTH, 'hsa_pre', 'hsa_post', 'fsa_medical', 'fsa_dependent_care', 'commuter', 'custom_pre_tax', 'custom_post_tax'],
  },
  adp_run: {
    products: [...PAYROLL_PRODUCTS, 'documents'], authentication: ['credential', 'api_token'], primary_color: '#d0271d', mfa_required: true,
    benefits: ['401k', '401k_roth', 'simple_ira', ...HEALTH, 'hsa_pre', 'custom_pre_tax', 'custom_post_tax'],
  },
  bamboo_hr: {
    products: ['company', 'directory', 'individual', 'ssn', 'employment'], authentication: ['api_token'], primary_color: '#73c41d', mfa_required: false,
    benefits: [],
  },
  justworks: {
    products: PAYROLL_PRODUCTS, authentication: ['credential'], primary_color: '#0073e6', mfa_required: true,
    benefits: ['401k', '401k_roth', ...HEALTH, 'hsa_pre', 'custom_post_tax'],
  },
  paychex_flex: {
    products: PAYROLL_PRODUCTS, authentication: ['credential', 'assisted'], primary_color: '#004b8d', mfa_required: true,
    benefits: ['401k', '401k_roth', 'simple_ira', ...HEALTH, 'hsa_pre', 'fsa_medical', 'custom_pre_tax', 'custom_post_tax'],
  },
  rippling: {
    products: PAYROLL_PRODUCTS, authentication: ['oauth'], primary_color: '#502d3c', mfa_required: false,
    benefits: ['401k', '401k_roth', ...HEALTH, 'hsa_pre', 'fsa_medical', 'fsa_dependent_care', 'commuter'],
  },
};

const DEFAULT_SPEC: ProviderSpec = { products: PAYROLL_PRODUCTS, authentication: ['credential'], benefits: ['401k', ...HEALTH], primary_color: '#333333', mfa_required: false };

/** A provider's spec; a provider id the emulator does not list gets a plain payroll provider's. */
export const providerSpec = (provider_id: string): ProviderSpec => SPECS[provider_id] ?? DEFAULT_SPEC;

/** What a provider supports for one benefit type (the SDK's SupportedBenefit), or null when it does not. */
export function supportedBenefit(provider_id: string, type: SupportedType): SupportedBenefit | null {
  if (!providerSpec(provider_id).benefits.includes(type)) return null;
  const retirement = RETIREMENT.includes(type);
  const hsa = type === 'hsa_pre' || type === 'hsa_post';
  return {
    description: DESCRIPTIONS[type],
    frequencies: ['every_paycheck', ...(retirement ? [] : ['monthly' as const])],
    employee_deduction: retirement || type.startsWith('custom') || type === 'commuter' ? ['fixed', 'percent'] : ['fixed'],
    company_contribution: type === '401k_loan' || type.startsWith('custom') ? [] : retirement ? ['fixed', 'percent', 'tiered'] : ['fixed'],
    annual_maximum: retirement || hsa || type.startsWith('fsa'),
    catch_up: retirement && type !== '401k_loan',
    hsa_contribution_limit: hsa ? ['individual', 'family'] : [],
  };
}

const DESCRIPTIONS: Record<SupportedType, string> = {
  '401k': '401(k)', '401k_roth': 'Roth 401(k)', '401k_loan': '401(k) loan repayment', '403b': '403(b)', '403b_roth': 'Roth 403(b)',
  457: '457 plan', '457_roth': 'Roth 457', simple: 'SIMPLE 401(k)', simple_ira: 'SIMPLE IRA', commuter: 'Commuter benefit',
  custom_post_tax: 'Custom post-tax deduction', custom_pre_tax: 'Custom pre-tax deduction', fsa_dependent_care: 'Dependent care FSA',
  fsa_medical: 'Medical FSA', hsa_post: 'HSA (post-tax)', hsa_pre: 'HSA (pre-tax)', s125_dental: 'Dental (section 125)',
  s125_medical: 'Medical (section 125)', s125_vision: 'Vision (section 125)',
};

const OPERATIONS: OperationSupportMatrix = { create: 'supported', read: 'supported', update: 'supported', delete: 'supported' };

export function listProviders(): Reply {
  return json(200, PROVIDERS.map(({ id, name }): ProviderListResponse => {
    const spec = providerSpec(id);
    const benefits_support = Object.fromEntries(spec.benefits.map((type) => [type, {
      supported_features: supportedBenefit(id, type),
      supported_operations: { company_benefits: OPERATIONS, individual_benefits: OPERATIONS },
    }]));
    return {
      id,
      display_name: name,
      products: spec.products,
      icon: `https://emulator.invalid/providers/${id}/icon.svg`,
      logo: `https://emulator.invalid/providers/${id}/logo.svg`,
      primary_color: spec.primary_color,
      mfa_required: spec.mfa_required,
      beta: false,
      manual: spec.authentication.includes('assisted') && spec.authentication.length === 1,
      authentication_methods: spec.authentication.map((type) => ({
        type,
        benefits_support: type === 'assisted' || !spec.products.includes('benefits') ? {} : benefits_support,
        supported_fields: {},
      })),
    };
  }));
}
