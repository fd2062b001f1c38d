// Finch's error body, as documented in "Error Types" (developer.tryfinch.com) and as the SDK's
// APIError keeps it in `error.error`: {code, name, message, finch_code?}. `context` is what Finch
// adds for connection_already_exists so a caller can adopt the existing connection.

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

export const connectionAlreadyExists = (connection_id: string) =>
  new FinchApiError(400, 'bad_request', 'A connection already exists for this customer_id; reauthenticate it instead.', {
    finch_code: 'connection_already_exists',
    context: { connection_id },
  });

/** The error a fault answers with: Finch's generic name for the status, unless the fault gives a body. */
export function errorForStatus(status: number): FinchApiError {
  if (status === 429) {
    return new FinchApiError(429, 'rate_limit_error', 'Too many requests.', {}, { 'Retry-After': '1' });
  }
  if (status >= 500) return new FinchApiError(status, 'server_error', 'Finch encountered an internal error.');
  const names: Record<number, string> = {
    400: 'bad_request', 401: 'invalid_token_error', 403: 'insufficient_scope_error', 404: 'not_found_error',
    408: 'client_connection_closed', 409: 'conflict_error', 422: 'unprocessable_request_error',
  };
  return new FinchApiError(status, names[status] ?? 'error', `Injected error with status ${status}.`);
}
