// Typed errors carry their HTTP status and a stable snake_case code; the HTTP layer maps them to
// DESIGN's error shape. Messages are written for the API's caller and never hold a secret.

export interface ErrorDetail { path: string; message: string }

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { details?: ErrorDetail[]; headers?: Record<string, string>; body?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidRequest extends ApiError {
  constructor(message: string, details?: ErrorDetail[]) { super(400, 'invalid_request', message, { details }); }
}
export class Unauthorized extends ApiError {
  constructor(message = 'A valid bearer token is required.') { super(401, 'unauthorized', message); }
}
export class Forbidden extends ApiError {
  constructor(message = 'The caller may not act for this customer.') { super(403, 'forbidden', message); }
}
/** Another customer's connection is answered exactly like a missing one, so ids cannot be probed. */
export class ConnectionNotFound extends ApiError {
  constructor() { super(404, 'connection_not_found', 'No such connection.'); }
}
export class ConnectionAlreadyExists extends ApiError {
  constructor(connection_id?: string) {
    super(409, 'connection_already_exists',
      'This customer already has a connection for this company; reauthenticate it instead.',
      { body: connection_id ? { connection_id } : undefined });
  }
}
export class ConnectionDisconnected extends ApiError {
  constructor() { super(409, 'connection_disconnected', 'The connection is disconnected.'); }
}
export class InvalidState extends ApiError {
  constructor() { super(400, 'invalid_state', 'The state is unknown, expired, already used or of another flow.'); }
}
export class CallbackInProgress extends ApiError {
  constructor() { super(409, 'callback_in_progress', 'This callback is already being processed; retry shortly.'); }
}
/** The callback failed for a reason the employer's browser may be told (one of CALLBACK_ERROR_CODES). */
export class CallbackFailed extends ApiError {
  constructor(status: number, code: string, message: string) { super(status, code, message); }
}
export class FinchUnavailable extends ApiError {
  constructor(timeout = false) {
    super(timeout ? 504 : 502, timeout ? 'finch_timeout' : 'finch_unavailable',
      timeout ? 'Finch did not answer in time.' : 'Finch could not be reached or answered with an error.');
  }
}
export class FinchRateLimited extends ApiError {
  constructor(retryAfterSeconds: number) {
    super(429, 'finch_rate_limited', 'Finch is rate limiting this application; retry later.',
      { headers: { 'Retry-After': String(retryAfterSeconds) } });
  }
}
export class FinchRejected extends ApiError {
  constructor(code: string, message: string) { super(400, code, message); }
}
