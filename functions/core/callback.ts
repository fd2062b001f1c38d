// The authorization callback: claim the state once, exchange the code once, check whose token it
// is, and store it so that no fault after Finch issued it can lose it (docs/ARCHITECTURE.md, invariants 1–6).
import type { CoreDeps } from './deps.js';
import { FinchRateLimited, FinchRejected, FinchUnavailable, InvalidState, TransientStoreError } from './errors.js';
import { STATE_PATTERN, hashState, newClaimId } from './ids.js';
import type { CallbackErrorCode, CallbackResult, Connection, ExchangeStash, Flow, SessionRecord } from './model.js';
import type { AuditAction, AuditEntry, AuditSubject } from './ports/audit.js';
import { subjectOf } from './audit-subject.js';
import type { TokenGrant } from './ports/finch.js';
import { isTransientFault, retryTransient } from './retry.js';
import { countCallback } from './callback-metrics.js';

export interface CallbackInput {
  flow: Flow;
  state: string;
  code?: string;
  /** Finch's `error=` on the redirect (the employer cancelled or Connect failed). */
  error?: string;
  /** Embedded flow: the JWT's customer; only that customer's states are taken. */
  customer_id?: string;
}

/** A grant with the time Finch answered the exchange (epoch ms): what orders tokens (invariant 4). */
type IssuedGrant = TokenGrant & { issued_at: number };

export interface CallbackOutcome {
  /** The session whose state was presented; its `return_to` is trusted. */
  session: SessionRecord;
  result: CallbackResult;
}

/**
 * How long the callback retries a claim that met a transient store fault. Nothing has been
 * exchanged yet, so giving up (503, repeat the callback) loses nothing; the budget stays short so
 * the exchange and the final store keep theirs within the function's timeout.
 */
const CLAIM_BUDGET_MS = 2000;
/** How long a repeated callback waits for a concurrent one holding the claim to finish. */
const AWAIT_CLAIM_MS = 3000;
const AWAIT_POLL_MS = 150;

/** The callback, counted by its result (Callbacks: connected, reauthenticated or the error code answered). */
export async function handleCallback(deps: CoreDeps, input: CallbackInput): Promise<CallbackOutcome> {
  return countCallback(deps.metrics, () => claimAndStore(deps, input));
}

async function claimAndStore(deps: CoreDeps, input: CallbackInput): Promise<CallbackOutcome> {
  // Checked before any read: a malformed state costs nothing.
  if (!STATE_PATTERN.test(input.state)) throw new InvalidState();
  const stateHash = hashState(input.state);
  // Cached after a container's first call; a secrets fault here leaves the state unspent (503, repeat).
  await deps.finch.prepare();
  const nowSeconds = Math.floor(deps.clock.now().getTime() / 1000);
  const claimId = newClaimId();
  const claim = await retryTransient(
    () => deps.sessions.claimSession(stateHash, input.flow, nowSeconds, input.customer_id, claimId), Date.now() + CLAIM_BUDGET_MS, deps.metrics);
  const session = claim.claimed ? claim.session : ownClaim(claim.session, claimId);
  if (!session) return answerUnclaimed(deps, input, stateHash, nowSeconds, claim.session);

  if (input.error !== undefined || input.code === undefined) {
    return fail(deps, session, 'connect_cancelled');
  }
  const grant = await exchangeOnce(deps, session, input.code);
  if ('error' in grant) return fail(deps, session, grant.error);

  const refusal = await verifyGrant(deps, session, grant);
  if (refusal) {
    deps.log.warn('token refused: it does not belong to this session', { reason: refusal, session_kind: session.kind, connection_id: grant.connection_id });
    return fail(deps, session, refusal);
  }

  // One budget from here on: encrypting (a throttled key service is retried: the token exists only
  // in this invocation's memory until it is stashed), the stash and the final store.
  const deadline = Date.now() + deps.settings.storeBudgetMs;
  let ciphertext: string;
  try {
    ciphertext = await retryTransient(
      () => deps.cipher.encrypt(grant.access_token, { customer_id: session.customer_id, connection_id: grant.connection_id }), deadline, deps.metrics);
  } catch (error) {
    if (!isTransientFault(error)) throw error;
    // Lost: nothing was stored, so a repeat cannot finish it. The session fails ("start Connect
    // again"), and the new session's adopt path finds Finch's connection.
    deps.log.error('could not encrypt the exchanged token within the time budget', { connection_id: grant.connection_id });
    return fail(deps, session, 'internal_error');
  }
  const stash: ExchangeStash = {
    connection_id: grant.connection_id,
    provider_id: grant.provider_id,
    products: grant.products,
    company_id: grant.company_id,
    entity_ids: grant.entity_ids,
    connection_type: grant.connection_type,
    token: { ciphertext, token_issued_at: grant.issued_at },
  };
  try {
    // Invariant 6: the ciphertext rests on the claimed session before the final transaction, so a
    // repeated callback can finish the store without a second exchange.
    await retryTransient(() => deps.sessions.stashExchange(stateHash, stash, auditEntry(deps, session, 'code_exchanged', grant.connection_id)), deadline, deps.metrics);
  } catch (error) {
    // The token is still in hand: go on to the final transaction rather than drop it.
    deps.log.warn('could not stash the exchanged token; trying the final store directly', { error: errorName(error) });
  }
  return storeConnection(deps, session, stash, deadline);
}

/**
 * Our own claim, seen as a failed condition: the first attempt was written but its answer was lost
 * (the SDK's retry, or ours, then found the session already CLAIMED — with our id). Without this the
 * state would be stuck at `callback_in_progress` with the code never exchanged.
 */
function ownClaim(session: SessionRecord | null, claimId: string): SessionRecord | null {
  return session?.status === 'claimed' && session.claim_id === claimId && !session.stash && !session.result ? session : null;
}

/** A state we could not claim: replay a finished result, finish a stashed store, or refuse. */
async function answerUnclaimed(
  deps: CoreDeps, input: CallbackInput, stateHash: string, nowSeconds: number, session: SessionRecord | null,
): Promise<CallbackOutcome> {
  const waitUntil = Date.now() + AWAIT_CLAIM_MS;
  for (;;) {
    if (!session) throw new InvalidState();
    const refused = session.flow !== input.flow
      || (input.customer_id !== undefined && session.customer_id !== input.customer_id);
    // Unknown, forged, other flow or other customer: one answer for all, nothing revealed.
    if (refused) throw new InvalidState();
    // Expiry gates claims only. A result is replayed, and a stash finished, whenever the state comes
    // back: a claim made just before the expiry whose final store failed must not lose its token to
    // the clock. The session's TTL runs a week past its expiry, so the stash is still there.
    if (session.result) return { session, result: session.result };
    if (session.stash) return storeConnection(deps, session, session.stash, Date.now() + deps.settings.storeBudgetMs);
    if (session.status === 'pending' || session.expires_at <= nowSeconds) throw new InvalidState();
    // Claimed by a concurrent callback that has not stashed yet (e.g. a double submit): wait briefly.
    if (Date.now() >= waitUntil) return { session, result: { status: 'error', error: 'callback_in_progress' } };
    await new Promise((resolve) => setTimeout(resolve, AWAIT_POLL_MS));
    session = await deps.sessions.getSession(stateHash);
  }
}

/**
 * `POST /auth/token` exactly once: a retry of a consumed code fails and would hide the first success.
 * The token's issue time is taken the moment Finch answers, before introspect and KMS: those can
 * be slow (a delayed introspect, a throttled Encrypt retried), and a time taken after them would let
 * a token Finch issued first look newer than one it issued later (invariant 4).
 */
async function exchangeOnce(deps: CoreDeps, session: SessionRecord, code: string): Promise<IssuedGrant | { error: CallbackErrorCode }> {
  try {
    const grant = await deps.finch.exchangeCode(code, session.flow === 'redirect' ? deps.settings.callbackUrl : undefined);
    return { ...grant, issued_at: nextIssuedAt(deps) };
  } catch (error) {
    // The name says what happened (AuthorizationCodeRejected, FinchRateLimited, FinchTimeout, …).
    deps.log.warn('code exchange failed', { error: errorName(error) });
    if (error instanceof FinchRejected) return { error: 'invalid_code' };
    // Finch down, slow, limiting us or answering without the token's ids: start Connect again.
    if (error instanceof FinchUnavailable || error instanceof FinchRateLimited) return { error: 'finch_unavailable' };
    return { error: 'internal_error' };
  }
}

/** Invariant 3: the token must be this session's customer's (fail closed) and, for a reauth, its connection's. */
async function verifyGrant(deps: CoreDeps, session: SessionRecord, grant: TokenGrant): Promise<CallbackErrorCode | null> {
  if (session.connection_id !== null && grant.connection_id !== session.connection_id) return 'connection_mismatch';
  let customerId = grant.customer_id;
  if (customerId === null) {
    try {
      customerId = (await deps.finch.introspect(grant.access_token)).customer_id;
    } catch (error) {
      deps.log.warn('introspect failed while confirming the token\'s customer', { error: errorName(error) });
      return 'customer_unverified';
    }
  }
  if (customerId === null) return 'customer_unverified';
  return customerId === session.finch_customer_id ? null : 'customer_mismatch';
}

/**
 * The final transaction: connection + ownership + session completion together (invariant 1).
 * A new connection is created; a connection this customer already owns has its token replaced in
 * place (invariant 4). Transient faults are retried until `deadline`; the stash survives beyond it.
 */
async function storeConnection(deps: CoreDeps, session: SessionRecord, stash: ExchangeStash, deadline: number): Promise<CallbackOutcome> {
  const stateHash = session.state_hash;
  const now = deps.clock.now().toISOString();
  const connection: Connection = {
    connection_id: stash.connection_id,
    customer_id: session.customer_id,
    entity: session.entity,
    finch_customer_id: session.finch_customer_id,
    provider_id: stash.provider_id,
    company_name: null,
    // A stash written before these were kept reads as "Finch did not say".
    company_id: stash.company_id ?? null,
    entity_ids: stash.entity_ids ?? [],
    connection_type: stash.connection_type ?? null,
    // /introspect's: the callback makes no second Finch call for them; a refresh or webhook fills them.
    manual: null,
    last_successful_sync: null,
    products: stash.products,
    status: 'connected',
    status_message: null,
    authentication_methods: [],
    connected_at: now,
    updated_at: now,
    last_synced_at: null,
    initial_sync_completed_at: { org: null, payroll: null },
    token_version: 1,
  };
  const connected = (reauthenticated: boolean): CallbackResult => ({
    status: 'connected',
    connection_id: connection.connection_id,
    customer_id: connection.customer_id,
    entity: connection.entity,
    provider_id: connection.provider_id,
    products: connection.products,
    reauthenticated,
  });
  const input = { connection, token: stash.token };
  try {
    return await retryTransient(async () => {
      if (session.kind !== 'reauth') {
        const created = await deps.sessions.createConnection(stateHash, input, connected(false), auditEntry(deps, session, 'connection_stored', connection.connection_id, subjectOf(connection)));
        if (created.ok) return done(deps, session, connected(false));
        if (created.reason === 'session_not_claimed') return replayFinished(deps, session);
        if (created.owner !== session.customer_id) return fail(deps, session, 'connection_owned_elsewhere');
        // The same owner connecting again: replace the token in place.
      }
      const replaced = await deps.sessions.replaceToken(stateHash, input, connected(true), auditEntry(deps, session, 'reauthenticated', connection.connection_id, subjectOf(connection)));
      if (replaced.ok) return done(deps, session, connected(true));
      switch (replaced.reason) {
        case 'session_not_claimed': return replayFinished(deps, session);
        case 'disconnected': return fail(deps, session, 'connection_disconnected');
        case 'not_owner': case 'missing': return fail(deps, session, 'connection_mismatch');
        case 'superseded':
          // A newer token is already stored (a concurrent reauth issued later): keep it.
          deps.log.info('a newer token is already stored; this one is dropped', { connection_id: connection.connection_id });
          await deps.sessions.finishSession(stateHash, 'claimed', connected(true));
          return done(deps, session, connected(true));
      }
    }, deadline, deps.metrics);
  } catch (error) {
    if (!(error instanceof TransientStoreError)) throw error;
    // The stash stays on the claimed session: repeating this callback finishes the store.
    deps.log.error('could not store the connection within the time budget; the token is stashed', { connection_id: connection.connection_id });
    return { session, result: { status: 'error', error: 'store_unavailable' } };
  }
}

/** The callback acts for the session's customer; the employer's browser (redirect) or the app (embedded) delivered it. */
/**
 * `subject`: the connection the final transaction writes (`code_exchanged` has none: the session's
 * entry, no connection yet). A reauth keeps the stored entity, and its company_id when the grant
 * named none; the snapshot is then what the grant said (null), as the transaction cannot read.
 */
function auditEntry(deps: CoreDeps, session: SessionRecord, action: AuditAction, connectionId: string, subject?: AuditSubject): AuditEntry {
  return {
    action,
    actor: `callback:${session.flow}`,
    customer_id: session.customer_id,
    connection_id: connectionId,
    at: deps.clock.now().toISOString(),
    ...(subject ? { subject } : {}),
    details: { session_id: session.session_id, session_kind: session.kind },
  };
}

function done(deps: CoreDeps, session: SessionRecord, result: CallbackResult): CallbackOutcome {
  if (result.status === 'connected') {
    deps.log.info(result.reauthenticated ? 'connection reauthenticated' : 'connection stored', {
      connection_id: result.connection_id, customer_id: result.customer_id, session_kind: session.kind,
    });
  }
  return { session, result };
}

/** Another callback finished this session first: answer what it stored. */
async function replayFinished(deps: CoreDeps, session: SessionRecord): Promise<CallbackOutcome> {
  const finished = await deps.sessions.getSession(session.state_hash);
  return { session, result: finished?.result ?? { status: 'error', error: 'callback_in_progress' } };
}

async function fail(deps: CoreDeps, session: SessionRecord, error: CallbackErrorCode): Promise<CallbackOutcome> {
  const result: CallbackResult = { status: 'error', error };
  await retryTransient(() => deps.sessions.finishSession(session.state_hash, 'claimed', result), Date.now() + 2000, deps.metrics);
  return { session, result };
}

let lastIssuedAt = 0;

/**
 * Orders tokens for invariant 4 ("the stored token was issued before this one"). Strictly
 * increasing within a container, so two exchanges in one millisecond still order.
 */
function nextIssuedAt(deps: CoreDeps): number {
  lastIssuedAt = Math.max(deps.clock.now().getTime(), lastIssuedAt + 1);
  return lastIssuedAt;
}

/** Error names only: an SDK's message may quote a request or response. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
