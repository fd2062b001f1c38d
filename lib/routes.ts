// The one route table: the CDK stack and the local gateway both build their routes from it, so
// what runs locally is exactly what is deployed.
export type FunctionName = 'create-session' | 'reauthenticate' | 'callback' | 'connections' | 'webhook' | 'finch-proxy';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway path syntax: `{name}` for a parameter. */
  path: string;
  function: FunctionName;
  /** Whether API Gateway's JWT authorizer guards the route. */
  auth: 'jwt' | 'none';
}

export const ROUTES: readonly RouteSpec[] = [
  { method: 'POST', path: '/connect/sessions', function: 'create-session', auth: 'jwt' },
  { method: 'POST', path: '/connect/sessions/reauthenticate', function: 'reauthenticate', auth: 'jwt' },
  { method: 'GET', path: '/connect/callback', function: 'callback', auth: 'none' },
  { method: 'POST', path: '/connect/callback', function: 'callback', auth: 'jwt' },
  { method: 'GET', path: '/connect/result', function: 'callback', auth: 'none' },
  { method: 'GET', path: '/connections', function: 'connections', auth: 'jwt' },
  { method: 'GET', path: '/connections/{connection_id}', function: 'connections', auth: 'jwt' },
  { method: 'DELETE', path: '/connections/{connection_id}', function: 'connections', auth: 'jwt' },
  { method: 'GET', path: '/connections/{connection_id}/audit', function: 'connections', auth: 'jwt' },
  { method: 'POST', path: '/webhooks/finch', function: 'webhook', auth: 'none' },
  // Finch's data API through the stored token; the core allowlists the method and path template.
  { method: 'GET', path: '/finch/{path+}', function: 'finch-proxy', auth: 'jwt' },
  { method: 'POST', path: '/finch/{path+}', function: 'finch-proxy', auth: 'jwt' },
  { method: 'DELETE', path: '/finch/{path+}', function: 'finch-proxy', auth: 'jwt' },
  { method: 'GET', path: '/directory', function: 'finch-proxy', auth: 'jwt' },
];

/** Where each function's handler lives (`export const handler`). */
export const FUNCTION_ENTRIES: Record<FunctionName, string> = {
  'create-session': 'functions/create-session/handler.ts',
  reauthenticate: 'functions/reauthenticate/handler.ts',
  callback: 'functions/callback/handler.ts',
  connections: 'functions/connections/handler.ts',
  webhook: 'functions/webhook/handler.ts',
  'finch-proxy': 'functions/finch-proxy/handler.ts',
};

export const routeKey = (route: RouteSpec) => `${route.method} ${route.path}`;

/**
 * The functions no route reaches (lib/constructs/functions.ts gives them their permissions too):
 * `events` consumes the table's stream and puts each audit entry's event on the bus,
 * `enrich-company` consumes the enrichment queue (connection.connected, .reauthenticated, the org sync),
 * `reconcile` runs on a schedule and asks Finch about the live connections (functions/core/reconcile.ts).
 */
export type EventFunctionName = 'events' | 'enrich-company' | 'reconcile';

export const EVENT_FUNCTION_ENTRIES: Record<EventFunctionName, string> = {
  events: 'functions/events/handler.ts',
  'enrich-company': 'functions/enrich-company/handler.ts',
  reconcile: 'functions/reconcile/handler.ts',
};

/** Every Lambda of the stack, routed or not: the names the deploy-truth records and FUNCTION_SPECS use. */
export type LambdaName = FunctionName | EventFunctionName;

export const LAMBDA_ENTRIES: Record<LambdaName, string> = { ...FUNCTION_ENTRIES, ...EVENT_FUNCTION_ENTRIES };

