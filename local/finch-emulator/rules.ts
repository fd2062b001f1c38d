// Pay statement item rules (https://developer.tryfinch.com/developer-resources/Pay-Statement-Items-Rules):
// a connection's rules attach `attributes.metadata` to the pay statement items whose fields equal
// the rule's conditions; the metadata then shows on `/pay-statement-item` and on pay statements.
// Kept per connection in the emulator's state; rules apply in priority order, later ones winning.
import type { RuleCreateResponse, RuleDeleteResponse } from '@tryfinch/finch-api/resources/hris/pay-statement-item/rules';
import { invalidRequest } from './errors.js';
import { newId } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { isDate, missing, serveData } from './data-access.js';
import { moduleState } from './dataset.js';
import type { EmulatedConnection } from './store.js';
import { expectBody, isObject, type Fields } from './validate.js';

interface Rule extends RuleCreateResponse {
  id: string;
  priority: number;
  conditions: Array<{ field: string; operator: 'equals'; value: string }>;
  attributes: { metadata: Record<string, unknown> };
  effective_start_date: string | null;
  effective_end_date: string | null;
}

/** The fields a condition may test: the item's own (`/pay-statement-item` answers them). */
const CONDITION_FIELDS = ['name', 'category', 'type'] as const;
const RULE_FIELDS = ['attributes', 'conditions', 'effective_start_date', 'effective_end_date', 'entity_type'];

const rulesOf = (connection: EmulatedConnection) => moduleState(connection, 'rules', () => ({ rules: new Map<string, Rule>(), next: 1 }));

/** `GET /employer/pay-statement-item/rule`: `{responses: [rule…]}`, as the SDK's ResponsesPage reads it. */
export function listRules(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'pay_statement', ({ connection }) => json(200, { responses: [...rulesOf(connection).rules.values()] }));
}

/** `POST /employer/pay-statement-item/rule`: 201 with the rule ("Create Rule"). */
export function createRule(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, RULE_FIELDS);
  return serveData(input, deps, 'pay_statement', ({ connection }) => {
    const state = rulesOf(connection);
    const now = new Date(deps.now()).toISOString();
    const rule: Rule = {
      id: newId(),
      priority: state.next++,
      entity_type: 'pay_statement_item',
      created_at: now,
      updated_at: now,
      ...ruleFields(fields, { conditions: [], attributes: { metadata: {} }, effective_start_date: null, effective_end_date: null }),
    };
    state.rules.set(rule.id, rule);
    return json(201, rule);
  });
}

/** `PUT /employer/pay-statement-item/rule/{rule_id}`: changes the given fields. */
export function updateRule(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, RULE_FIELDS);
  return serveData(input, deps, 'pay_statement', ({ connection }) => {
    const rule = ruleOrMissing(connection, input.params.rule_id);
    Object.assign(rule, ruleFields(fields, rule), { updated_at: new Date(deps.now()).toISOString() });
    return json(200, rule);
  });
}

/** `DELETE /employer/pay-statement-item/rule/{rule_id}`: the rule as it was, with `deleted_at`. */
export function deleteRule(input: RequestInput, deps: EmulatorDeps): Reply {
  return serveData(input, deps, 'pay_statement', ({ connection }) => {
    const rule = ruleOrMissing(connection, input.params.rule_id);
    rulesOf(connection).rules.delete(rule.id);
    return json(200, { ...rule, deleted_at: new Date(deps.now()).toISOString() } satisfies RuleDeleteResponse);
  });
}

function ruleOrMissing(connection: EmulatedConnection, id: string): Rule {
  const rule = rulesOf(connection).rules.get(id);
  if (!rule) throw missing('item_not_found', `No rule with id ${id} found.`);
  return rule;
}

type RuleBody = Pick<Rule, 'conditions' | 'attributes' | 'effective_start_date' | 'effective_end_date'>;

function ruleFields(fields: Fields, current: RuleBody): RuleBody {
  if (fields.entity_type !== undefined && fields.entity_type !== 'pay_statement_item') {
    throw invalidRequest('entity_type must be pay_statement_item.');
  }
  const next: RuleBody = { ...current };
  if (fields.conditions !== undefined) {
    if (!Array.isArray(fields.conditions)) throw invalidRequest('conditions must be an array.');
    next.conditions = fields.conditions.map((condition, index) => {
      if (!isObject(condition) || typeof condition.field !== 'string' || typeof condition.value !== 'string') {
        throw invalidRequest(`conditions.${index} needs field and value strings.`);
      }
      if (!(CONDITION_FIELDS as readonly string[]).includes(condition.field)) {
        throw invalidRequest(`conditions.${index}.field must be one of ${CONDITION_FIELDS.join(', ')}.`);
      }
      if ((condition.operator ?? 'equals') !== 'equals') throw invalidRequest(`conditions.${index}.operator must be equals.`);
      return { field: condition.field, operator: 'equals', value: condition.value };
    });
  }
  if (fields.attributes !== undefined) {
    if (!isObject(fields.attributes) || (fields.attributes.metadata !== undefined && !isObject(fields.attributes.metadata))) {
      throw invalidRequest('attributes.metadata must be an object.');
    }
    next.attributes = { metadata: { ...(fields.attributes.metadata as Record<string, unknown> | undefined) } };
  }
  for (const key of ['effective_start_date', 'effective_end_date'] as const) {
    if (fields[key] === undefined) continue;
    if (fields[key] !== null && !isDate(fields[key])) throw invalidRequest(`${key} must be a date (YYYY-MM-DD) or null.`);
    next[key] = fields[key] as string | null;
  }
  return next;
}

/**
 * The metadata the connection's rules give an item seen on `pay_date` (a pay statement's) or at
 * any time (`pay_date` null, for `/pay-statement-item`): null when no rule matches.
 */
export function metadataFor(connection: EmulatedConnection) {
  const rules = [...rulesOf(connection).rules.values()].sort((a, b) => a.priority - b.priority);
  return (item: { category: string; name: string; type: string | null }, pay_date: string | null): Record<string, unknown> | null => {
    let metadata: Record<string, unknown> | null = null;
    for (const rule of rules) {
      if (pay_date !== null && ((rule.effective_start_date && pay_date < rule.effective_start_date)
        || (rule.effective_end_date && pay_date > rule.effective_end_date))) continue;
      if (!rule.conditions.every((condition) => item[condition.field as keyof typeof item] === condition.value)) continue;
      metadata = { ...(metadata ?? {}), ...rule.attributes.metadata };
    }
    return metadata;
  };
}
