// The emulator's stand-in for Finch Connect: the page the employer's browser opens from
// connect_url, and the form post that ends it with an authorization code (or an error). The
// employer signs in with a login (the credentials): `user@company`, the company being the
// employer at the provider; it defaults to `admin@<customer_id>`.
import { FinchApiError, invalidRequest, notFound } from './errors.js';
import { newAuthorizationCode, newId } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import type { ConnectSession, EmulatedConnection } from './store.js';
import { expectBody, requiredString } from './validate.js';

/** Gusto first: clients that pick the first option get a predictable provider. */
export const PROVIDERS: ReadonlyArray<{ id: string; name: string }> = [
  { id: 'gusto', name: 'Gusto' },
  { id: 'adp_run', name: 'ADP RUN' },
  { id: 'bamboo_hr', name: 'BambooHR' },
  { id: 'justworks', name: 'Justworks' },
  { id: 'paychex_flex', name: 'Paychex Flex' },
  { id: 'rippling', name: 'Rippling' },
];

const CODE_LIFETIME_MS = 10 * 60_000;
const MAX_LOGIN_LENGTH = 255;

const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  // No form-action directive: browsers apply it to the redirect that follows the post too.
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
};

export function showHostedPage(input: RequestInput, deps: EmulatorDeps): Reply {
  const session = deps.store.usableSession(input.query.get('session') ?? '', deps.now());
  if (!session) {
    return { status: 404, headers: PAGE_HEADERS, html: page('Session not found', '<p>This Connect session does not exist, has expired or was already completed.</p>') };
  }
  const state = input.query.get('state') ?? '';
  const options = providerChoices(session)
    .map((provider, index) => `<option value="${escapeHtml(provider.id)}"${index === 0 ? ' selected' : ''}>${escapeHtml(provider.name)}</option>`)
    .join('');
  const body = `
<h1>${session.kind === 'reauth' ? 'Reconnect' : 'Connect'} your payroll provider</h1>
<p><strong>${escapeHtml(session.customer_name)}</strong> is asking for: ${escapeHtml(session.products.join(', '))}.</p>
<form method="post" action="/connect/authorize">
  <input type="hidden" name="session_id" value="${escapeHtml(session.session_id)}">
  <input type="hidden" name="state" value="${escapeHtml(state)}">
  <label>Provider <select name="provider_id">${options}</select></label>
  <label>Login <input name="login" value="${escapeHtml(defaultLogin(session, deps))}" autocomplete="off"></label>
  <label>Outcome <select name="outcome"><option value="success" selected>Authorize</option><option value="error">Cancel (access_denied)</option></select></label>
  <button type="submit" id="connect">Connect</button>
</form>`;
  return { status: 200, headers: PAGE_HEADERS, html: page('Finch Connect (emulator)', body) };
}

/**
 * The employer finished the page. Success creates (or, for reauth, reuses) the connection and
 * mints a single-use code bound to the session, its redirect_uri and the connection.
 */
export function authorize(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['session_id', 'state', 'provider_id', 'outcome', 'login']);
  const session_id = requiredString(fields, 'session_id');
  // The page posts an empty state when the client opened it without one.
  if (fields.state !== undefined && typeof fields.state !== 'string') throw invalidRequest('state must be a string.');
  const state = fields.state ? (fields.state as string) : null;
  const provider_id = requiredString(fields, 'provider_id');
  // Missing outcome is success: a client that posts only the form's inputs connects.
  const outcome = fields.outcome ?? 'success';
  if (outcome !== 'success' && outcome !== 'error') throw invalidRequest('outcome must be success or error.');
  if (fields.login !== undefined && (typeof fields.login !== 'string' || fields.login.length > MAX_LOGIN_LENGTH)) {
    throw invalidRequest(`login must be a string of at most ${MAX_LOGIN_LENGTH} characters.`);
  }

  const now = deps.now();
  const session = deps.store.usableSession(session_id, now);
  if (!session) throw notFound('This Connect session does not exist, has expired or was already completed.', 'session_not_found');
  if (!providerChoices(session).some((provider) => provider.id === provider_id)) {
    throw invalidRequest(`provider_id ${provider_id} is not offered by this session.`);
  }

  if (outcome === 'error') {
    // The employer cancelled; the session stays open so they can try again.
    return finish(session, { error: 'access_denied', error_description: 'The employer cancelled Finch Connect.' }, state);
  }

  // An empty login (a client that cleared the field or never sent it) is the session's default.
  const login = (fields.login as string | undefined) || defaultLogin(session, deps);
  const connection = session.kind === 'reauth' ? reauthTarget(session, login, deps) : connectionFor(session, provider_id, login, now, deps);
  session.completed = true;
  const code = newAuthorizationCode();
  deps.store.codes.set(code, {
    code,
    session_id: session.session_id,
    connection_id: connection.connection_id,
    redirect_uri: session.redirect_uri,
    products: [...session.products],
    reauth: session.kind === 'reauth',
    expires_at: now + CODE_LIFETIME_MS,
    used: false,
  });
  return finish(session, { code }, state);
}

/** Redirect flow: 302 to redirect_uri with the result and state. Embedded flow: the same as JSON. */
function finish(session: ConnectSession, result: Record<string, string>, state: string | null): Reply {
  const params = { ...result, ...(state !== null ? { state } : {}) };
  if (!session.redirect_uri) return json(200, { ...params, state });
  const target = new URL(session.redirect_uri);
  for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
  return { status: 302, headers: { ...PAGE_HEADERS, Location: target.href } };
}

/** The reauthentication link keeps its connection whatever credentials the employer uses. */
function reauthTarget(session: ConnectSession, login: string, deps: EmulatorDeps): EmulatedConnection {
  const connection = deps.store.connections.get(session.connection_id ?? '');
  if (!connection || connection.disconnected) {
    throw new FinchApiError(400, 'bad_request', 'The connection of this reauthentication session was disconnected.', { finch_code: 'connection_disconnected' });
  }
  if (!connection.logins.includes(login)) connection.logins.push(login);
  return connection;
}

/**
 * The connection a login on a provider makes or finds ("Disconnect Tokens"): the same company,
 * provider and credentials are the same connection; other credentials or another provider make
 * a new one.
 */
function connectionFor(session: ConnectSession, provider_id: string, login: string, now: number, deps: EmulatorDeps): EmulatedConnection {
  const company_id = deps.store.companyId(companyKeyOf(login, session), newId);
  const existing = deps.store.liveConnectionFor(company_id, provider_id, login);
  if (existing) return existing;
  const assisted = session.manual || session.integration?.auth_method === 'assisted';
  const connection: EmulatedConnection = {
    connection_id: newId(),
    account_id: newId(),
    company_id,
    entity_id: newId(),
    customer_id: session.customer_id,
    customer_name: session.customer_name,
    customer_email: session.customer_email,
    provider_id,
    connection_type: session.sandbox === 'finch' ? 'finch' : 'provider',
    logins: [login],
    products: [...session.products],
    // Assisted connections wait for Finch's team; automated ones are connected at once.
    status: assisted ? 'pending' : 'connected',
    status_message: null,
    authentication_type: assisted ? 'assisted' : (session.integration?.auth_method ?? 'credential'),
    manual: session.manual,
    created_at: now,
    last_successful_sync: null,
    tokens: [],
    disconnected: false,
    initial_sync_sent: false,
  };
  deps.store.connections.set(connection.connection_id, connection);
  return connection;
}

/** The login the page offers: the reauthenticated connection's own, else `admin@<customer_id>`. */
function defaultLogin(session: ConnectSession, deps: EmulatorDeps): string {
  const connection = session.kind === 'reauth' ? deps.store.connections.get(session.connection_id ?? '') : undefined;
  return connection?.logins[0] ?? `admin@${session.customer_id}`;
}

/** The employer a login belongs to: what follows its first `@` (a login without one is the customer's). */
function companyKeyOf(login: string, session: ConnectSession): string {
  const at = login.indexOf('@');
  return at >= 0 && at < login.length - 1 ? login.slice(at + 1) : session.customer_id;
}

function providerChoices(session: ConnectSession): ReadonlyArray<{ id: string; name: string }> {
  const only = session.integration?.provider;
  if (!only) return PROVIDERS;
  return [PROVIDERS.find((provider) => provider.id === only) ?? { id: only, name: only }];
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:1rem 0}select,button{font-size:1rem;margin-left:.5rem}</style>
</head>
<body>
<main>${body}
</main>
</body>
</html>
`;
}
