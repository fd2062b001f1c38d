/* global document, fetch, location, sessionStorage, history, URLSearchParams, confirm */
// The demo connections page: plain JS against the API, as an application's frontend would use it.
// Every value from the API is set with textContent, never as HTML.
import { followCustomer, markRows } from './activity.js';

const $ = (selector) => document.querySelector(selector);
const STORAGE_KEY = 'finch-connections-demo';

const state = { customer: null, token: null, tokenExpires: 0, emulator: false, canDisconnect: false, canProxy: false };

// ---- plain-words errors -------------------------------------------------------------------
const CALLBACK_ERRORS = {
  invalid_state: 'That Connect link was already used or has expired. Start the connection again.',
  connect_cancelled: 'Finch Connect was closed before the connection was made. Nothing was saved.',
  invalid_code: 'Finch did not accept the authorization. Start the connection again.',
  customer_mismatch: 'Finch returned an authorization for a different customer, so nothing was saved.',
  customer_unverified: 'Finch did not confirm whose authorization this was, so nothing was saved.',
  connection_mismatch: 'The reauthentication returned a different connection, so nothing was saved.',
  connection_owned_elsewhere: 'This payroll account is already connected by another customer.',
  connection_disconnected: 'This connection has been disconnected. Connect again instead.',
  finch_unavailable: 'Finch could not be reached to finish the connection. Try again in a moment.',
  callback_in_progress: 'The connection is still being saved. Refresh the list in a moment.',
  store_unavailable: 'The connection was authorized but could not be saved yet. Try again in a moment.',
  internal_error: 'Something went wrong while saving the connection. Start again.',
};
const API_ERRORS = {
  connection_already_exists: 'This customer already has a live connection for that company. Reauthenticate it from the list, or use another entity name.',
  connection_not_found: 'That connection does not exist (or belongs to another customer).',
  refresh_rate_limited: 'The status was checked too often. Wait a minute and try again.',
  finch_unavailable: 'Finch could not be reached. Try again in a moment.',
  finch_timeout: 'Finch did not answer in time. Try again in a moment.',
  finch_rate_limited: 'Finch is busy right now. Try again in a minute.',
  forbidden: 'This login may not act for that customer.',
};

class ApiProblem extends Error {
  constructor(status, body) {
    const code = body?.error?.code;
    let text = (code && API_ERRORS[code]) || body?.error?.message || body?.message || `The API answered ${status}.`;
    if (status === 401) text = 'Your login has expired or is not valid. Pick the customer again.';
    if (code === 'invalid_request' && body.error.details?.length) {
      text = `${body.error.message} ${body.error.details.map((d) => `${d.path || 'body'}: ${d.message}`).join('; ')}`;
    }
    super(text);
    this.status = status;
    this.code = code;
  }
}

function notify(kind, text) {
  const notice = $('#notice');
  notice.hidden = false;
  notice.className = kind;
  notice.dataset.kind = kind;
  notice.textContent = text;
}

// ---- API calls ----------------------------------------------------------------------------
async function api(method, path, body, extraHeaders = {}) {
  if (path !== '/_local/token' && Date.now() > state.tokenExpires - 30_000) await mintToken();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(path.startsWith('/_local/') ? {} : { authorization: `Bearer ${state.token}` }),
        ...extraHeaders,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new Error('The local API is not answering. Is `npm start` still running?');
  }
  const text = await response.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  if (!response.ok) throw new ApiProblem(response.status, json);
  return json;
}

async function mintToken() {
  const { id, name } = state.customer;
  const { token } = await api('POST', '/_local/token', { customer_id: id, ...(name ? { customer_name: name } : { customer_name: id }) });
  state.token = token;
  state.tokenExpires = Date.now() + 3600_000;
}

// ---- rendering ----------------------------------------------------------------------------
const cell = (text, className) => {
  const td = document.createElement('td');
  if (className) td.className = className;
  td.textContent = text;
  return td;
};
const button = (label, className, onClick) => {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `small ${className}`;
  b.textContent = label;
  b.addEventListener('click', () => guarded(b, onClick));
  return b;
};
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

/**
 * The Company cell: Finch's company name, else its company_id; a connection of a company already
 * listed above (another provider, another login: the same company_id) says so.
 */
function companyCell(c, seen) {
  const td = cell(c.company_name ?? c.company_id ?? '—', c.company_name ? '' : 'muted');
  if (c.company_id && seen.has(c.company_id)) {
    td.classList.add('same-company');
    td.append(Object.assign(document.createElement('div'), { className: 'hint', textContent: 'Another connection of this company' }));
  }
  if (c.company_id) seen.add(c.company_id);
  return td;
}

function renderConnections(connections) {
  const body = $('#connections tbody');
  const seen = new Set();
  body.replaceChildren(...connections.map((c) => {
    const row = document.createElement('tr');
    row.dataset.connectionId = c.connection_id;
    row.dataset.status = c.status;
    const status = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = `status status-${c.status}`;
    badge.textContent = c.status;
    status.append(badge);
    if (c.status_message) status.append(Object.assign(document.createElement('div'), { className: 'hint', textContent: c.status_message }));
    const actions = document.createElement('td');
    actions.className = 'actions';
    if (c.status === 'reauth') actions.append(button('Reauthenticate', 'reauthenticate', () => reauthenticate(c.connection_id)));
    actions.append(button('Check status', 'secondary check', () => refreshOne(c.connection_id)));
    if (c.status === 'connected' && state.canProxy) actions.append(button('Company', 'secondary company', () => showCompany(c.connection_id)));
    if (state.emulator && c.status === 'connected') {
      actions.append(button('Break (emulator)', 'secondary break', () => breakConnection(c.connection_id)));
    }
    // Shown only once the API routes DELETE (the lifecycle work); a tombstone has nothing to disconnect.
    if (state.canDisconnect && !['disconnecting', 'disconnected'].includes(c.status)) {
      actions.append(button('Disconnect', 'secondary disconnect', () => disconnect(c.connection_id)));
    }
    row.append(
      cell(c.provider_id),
      companyCell(c, seen),
      cell(c.entity ?? '—', c.entity ? '' : 'muted'),
      cell((c.products ?? []).join(', ')),
      status,
      cell(when(c.updated_at)),
      actions,
    );
    return row;
  }));
  $('#empty').hidden = connections.length > 0;
}

async function loadConnections() {
  const all = [];
  let cursor;
  do {
    const page = await api('GET', `/connections?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    all.push(...page.connections);
    cursor = page.next_cursor;
  } while (cursor);
  renderConnections(all);
  markRows();
}

// ---- actions ------------------------------------------------------------------------------
const returnTo = () => `${location.origin}/`;

async function pickCustomer(id, name) {
  state.customer = { id, name };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state.customer));
  await mintToken();
  $('#current-customer').textContent = name ? `${name} (${id})` : id;
  $('#connections-section').hidden = false;
  await loadConnections();
  followCustomer(id, { reloadConnections: loadConnections, reconnect: reauthenticate, guarded });
}

async function startConnect(entity) {
  const session = await api('POST', '/connect/sessions', { ...(entity ? { entity } : {}), return_to: returnTo() });
  // connect_url carries the single-use state: the browser goes there and nowhere else.
  location.assign(session.connect_url);
}

async function reauthenticate(connectionId) {
  const session = await api('POST', '/connect/sessions/reauthenticate', { connection_id: connectionId, return_to: returnTo() });
  location.assign(session.connect_url);
}

async function refreshOne(connectionId) {
  const connection = await api('GET', `/connections/${encodeURIComponent(connectionId)}?refresh=true`);
  await loadConnections();
  notify(connection.status === 'connected' ? 'ok' : 'error', connection.status === 'reauth'
    ? 'Finch says this connection needs the employer to sign in again. Press Reauthenticate.'
    : `Finch says the connection is ${connection.status}.`);
}

/** Finch data through the backend's proxy: the page never holds the connection's token. */
async function showCompany(connectionId) {
  const company = await api('GET', '/finch/employer/company', undefined, { 'finch-connection-id': connectionId });
  const locations = (company.locations ?? []).map((l) => [l.city, l.state].filter(Boolean).join(', ')).filter(Boolean);
  notify('ok', `${company.legal_name ?? 'The company'}${company.ein ? ` (EIN ${company.ein})` : ''}${locations.length ? `, ${locations.join('; ')}` : ''}: read from Finch through the proxy.`);
}

async function breakConnection(connectionId) {
  await api('POST', `/_local/emulator/connections/${encodeURIComponent(connectionId)}`, { status: 'reauth' });
  await refreshOne(connectionId);
}

async function disconnect(connectionId) {
  if (!confirm('Disconnect this payroll connection? The application will lose access to its data.')) return;
  await api('DELETE', `/connections/${encodeURIComponent(connectionId)}`);
  await loadConnections();
  notify('ok', 'Disconnected. Finch no longer gives this application access to that account.');
}

async function guarded(control, action) {
  control.disabled = true;
  try {
    await action();
  } catch (error) {
    notify('error', error.message);
  } finally {
    control.disabled = false;
  }
}

// ---- the way back from Finch Connect ------------------------------------------------------
function showCallbackResult() {
  const params = new URLSearchParams(location.search);
  const status = params.get('status');
  if (!status) return;
  if (status === 'connected') {
    const id = params.get('connection_id') ?? '';
    notify('ok', params.get('reauthenticated') === 'true'
      ? `Reauthenticated: connection ${id} works again.`
      : `Connected: connection ${id} was added.`);
  } else {
    const code = params.get('error') ?? '';
    notify('error', CALLBACK_ERRORS[code] ?? 'The connection was not completed. Start again.');
  }
  // The result stays on screen; the address bar goes back to the plain page.
  history.replaceState(null, '', '/');
}

async function init() {
  $('#pick-customer').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = $('#customer-id').value.trim();
    const name = $('#customer-name').value.trim();
    guarded($('#pick'), () => pickCustomer(id, name || undefined));
  });
  $('#connect-new').addEventListener('click', () => guarded($('#connect-new'), () => startConnect()));
  $('#connect-entity').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded($('#connect-another'), () => startConnect($('#entity').value.trim()));
  });
  $('#reload').addEventListener('click', () => guarded($('#reload'), loadConnections));

  showCallbackResult();
  try {
    const config = await (await fetch('/_local/config')).json();
    state.emulator = config.finch === 'emulator';
    state.canDisconnect = config.routes.includes('DELETE /connections/{connection_id}');
    state.canProxy = config.routes.includes('GET /finch/{path+}');
  } catch { /* the list still works without these buttons */ }
  const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
  if (saved?.id) {
    $('#customer-id').value = saved.id;
    $('#customer-name').value = saved.name ?? '';
    await guarded($('#pick'), () => pickCustomer(saved.id, saved.name));
  }
  document.body.dataset.ready = 'true';
}

init();
