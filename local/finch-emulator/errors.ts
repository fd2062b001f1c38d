// Finch's error body, as documented in "Error Types"
// (https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types) and as the
// SDK's APIError keeps it in `error.error`: {code, name, message, finch_code?}. `context` is the
// emulator's guess for connection_already_exists, which Finch does not document (see refusals).

export interface FinchErrorBody {
  code: number;
  name: string;
  message: string;
  finch_code?: string;
  context?: Record<string, unknown>;
}

/** Thrown by handlers; the server turns it into the status, body and headers it carries. */
export class FinchApiError extends Error {
  readonly body: FinchErrorBody;

  constructor(
    readonly status: number,
    name: string,
    message: string,
    extra: { finch_code?: string; context?: Record<string, unknown> } = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'FinchApiError';
    this.body = { code: status, name, message, ...extra };
  }
}

/**
 * Finch's error table (Error Types, and Rate Limits for the 429 codes), one row a name. A row's
 * `finch_codes` are the ones Finch documents for it; the first is what the emulator answers when
 * a fault names the row without one.
 */
export interface DocumentedError {
  status: number;
  name: string;
  finch_codes: readonly string[];
  message: string;
}

export const ERROR_TABLE: readonly DocumentedError[] = [
  { status: 400, name: 'invalid_grant_error', finch_codes: [], message: 'The authorization code is invalid.' },
  { status: 400, name: 'bad_request', finch_codes: ['invalid_request'], message: 'Failed to validate request.' },
  { status: 401, name: 'invalid_token_error', finch_codes: [], message: 'The access_token is incorrect or has been revoked.' },
  { status: 401, name: 'invalid_request_error', finch_codes: [], message: 'The request does not match the docs.' },
  {
    status: 401, name: 'authentication_error', finch_codes: ['reauthenticate_user', 'account_setup_required'],
    message: 'The employer must reconnect their employment system.',
  },
  { status: 401, name: 'invalid_client_error', finch_codes: [], message: 'The provided application credentials were incorrect.' },
  { status: 401, name: 'unauthorized_request_error', finch_codes: [], message: 'The access_token is missing from the Authorization header.' },
  {
    status: 402, name: 'payment_required', finch_codes: ['payment_required'],
    message: 'The application has unpaid invoices and cannot access the Finch API until payment is settled.',
  },
  {
    status: 403, name: 'error_permissions', finch_codes: ['insufficient_account_permissions'],
    message: 'The connected admin account lacks the permissions this request needs.',
  },
  { status: 403, name: 'insufficient_scope_error', finch_codes: [], message: 'The application credentials have insufficient permissions for this product.' },
  {
    status: 404, name: 'not_found_error', finch_codes: ['item_not_found', 'benefit_not_found', 'individual_not_found', 'payment_not_found'],
    message: 'The requested resource could not be found.',
  },
  { status: 408, name: 'client_connection_closed', finch_codes: [], message: 'The client closed the connection while Finch was still processing the request.' },
  { status: 422, name: 'unprocessable_request_error', finch_codes: ['unsupported_parameters'], message: 'The parameters are not supported by the provider or benefit.' },
  {
    // Rate Limits: per application and product, per IP address (API and auth, each with a 60-minute
    // penalty), or the provider's own limit. Finch documents no Retry-After for any of them.
    status: 429, name: 'rate_limit_exceeded_error',
    finch_codes: ['finch_application_rl', 'finch_api_ip_rl', 'finch_auth_ip_rl', 'upstream_rate_limit_exceeded'],
    message: 'Too many requests.',
  },
  { status: 500, name: 'server_error', finch_codes: [], message: 'Finch encountered an internal error.' },
  { status: 501, name: 'not_implemented_error', finch_codes: [], message: 'This operation is not implemented for the provider.' },
  { status: 502, name: 'bad_gateway_error', finch_codes: [], message: 'Finch could not reach the provider.' },
  { status: 502, name: 'upstream_provider_error', finch_codes: [], message: 'The provider answered with an error.' },
];

export const documentedError = (name: string): DocumentedError | undefined => ERROR_TABLE.find((row) => row.name === name);

/** A row of the table as an error; `finch_code` null leaves it out, undefined takes the row's first. */
export function tableError(row: DocumentedError, finch_code?: string | null): FinchApiError {
  const code = finch_code === undefined ? row.finch_codes[0] : finch_code ?? undefined;
  return new FinchApiError(row.status, row.name, row.message, code ? { finch_code: code } : {});
}

export const invalidRequest = (message: string, context?: Record<string, unknown>) =>
  new FinchApiError(400, 'bad_request', message, { finch_code: 'invalid_request', ...(context ? { context } : {}) });

export const missingApiVersion = () =>
  invalidRequest('The Finch-API-Version header is required (the SDK sends 2020-09-17).');

export const invalidClient = () =>
  new FinchApiError(401, 'invalid_client_error', 'The provided application credentials were incorrect.');

export const unauthorizedRequest = () =>
  new FinchApiError(401, 'unauthorized_request_error', 'The access_token is missing from the Authorization header.');

export const invalidToken = () =>
  new FinchApiError(401, 'invalid_token_error', 'The access_token is incorrect or has been revoked.');

export const invalidGrant = (message: string) =>
  new FinchApiError(400, 'invalid_grant_error', message);

export const reauthenticateUser = () =>
  new FinchApiError(401, 'authentication_error', 'The employer must reauthenticate this connection.', {
    finch_code: 'reauthenticate_user',
  });

export const accountSetupRequired = () =>
  new FinchApiError(401, 'authentication_error', 'The employer must finish setting up this connection.', {
    finch_code: 'account_setup_required',
  });

export const insufficientPermissions = () =>
  new FinchApiError(403, 'error_permissions', 'The connected admin account lacks the permissions this request needs.', {
    finch_code: 'insufficient_account_permissions',
  });

export const insufficientScope = (product: string) =>
  new FinchApiError(403, 'insufficient_scope_error', `The access_token was not granted the ${product} product.`);

export const notFound = (message: string, finch_code = 'item_not_found') =>
  new FinchApiError(404, 'not_found_error', message, { finch_code });

/**
 * Finch refuses a new Connect session for a customer id with a live connection and asks for
 * reauthentication, but publishes no body for it ("Manage connections"). The default is the
 * emulator's guess (400 `bad_request`, `connection_already_exists`, `context.connection_id`); a
 * fault can answer the other plausible shapes (no context, another finch_code, 409).
 */
export interface RefusalShape {
  status: 400 | 409;
  finch_code: string | null;
  context: boolean;
}

export const DEFAULT_REFUSAL: RefusalShape = { status: 400, finch_code: 'connection_already_exists', context: true };

export function connectionAlreadyExists(connection_id: string | null, shape: RefusalShape = DEFAULT_REFUSAL) {
  return new FinchApiError(
    shape.status, shape.status === 409 ? 'conflict_error' : 'bad_request',
    'A connection already exists for this customer_id; reauthenticate it instead.',
    {
      ...(shape.finch_code ? { finch_code: shape.finch_code } : {}),
      ...(shape.context && connection_id ? { context: { connection_id } } : {}),
    },
  );
}

/**
 * The emulator's answer before Finch's table named 429s: `rate_limit_error` with `Retry-After: 1`.
 * Finch documents neither; a fault still answers it (`error: 'rate_limit_error'`) for old tests.
 */
export const legacyRateLimit = () =>
  new FinchApiError(429, 'rate_limit_error', 'Too many requests.', {}, { 'Retry-After': '1' });

/** The error a fault with only a status answers: the table's first name for it, else a generic one. */
export function errorForStatus(status: number): FinchApiError {
  const preferred: Record<number, string> = { 400: 'bad_request', 401: 'invalid_token_error', 403: 'insufficient_scope_error' };
  const row = documentedError(preferred[status] ?? '') ?? ERROR_TABLE.find((candidate) => candidate.status === status);
  if (row) return tableError(row);
  // Statuses Finch's table does not list (409, 503, 504, …) keep the emulator's generic names.
  if (status >= 500) return new FinchApiError(status, 'server_error', 'Finch encountered an internal error.');
  return new FinchApiError(status, status === 409 ? 'conflict_error' : 'error', `Injected error with status ${status}.`);
}
