/* global document, fetch, setTimeout, clearTimeout */
// The demo page's activity feed: the current customer's events from the local bus
// (`GET /_local/events` → `{events: [detail…]}`, oldest first), polled every 2 s while the page is
// open. An application would get the same events from its EventBridge rule or webhook (README,
// "Events"); the page shows what they let it do: prompt the employer to reconnect as soon as Finch
// refuses a connection, and show the employer's name as soon as the enrichment consumer stored it.
// Every value is set with textContent, never as HTML.
const $ = (selector) => document.querySelector(selector);
const POLL_MS = 2000;
const FEED_ROWS = 50;

/** Events after which the connections list is read again: they change a column it shows. */
const LIST_CHANGES = new Set([
  'connection.connected', 'connection.reauthenticated', 'connection.reauth_required',
  'connection.status_changed', 'connection.disconnected', 'connection.company_updated',
]);

const TYPE_LABELS = {
  'connection.connected': 'connected',
  'connection.reauthenticated': 'reauthenticated',
  'connection.reauth_required': 'needs the employer to sign in again',
  'connection.status_changed': 'status changed',
  'connection.disconnected': 'disconnected',
  'connection.initial_sync_completed': 'first sync done',
  'connection.company_updated': 'company name stored',
};

const feed = { customerId: null, events: [], seen: new Set(), timer: undefined, generation: 0, hooks: undefined };

/**
 * Follows `customerId`'s events from now on (and shows the ones already on the bus).
 * `hooks.reloadConnections()` re-reads the list; `hooks.reconnect(connectionId)` starts the page's
 * reauthenticate flow; `hooks.guarded(button, action)` runs a click as the page's buttons do.
 */
export function followCustomer(customerId, hooks) {
  clearTimeout(feed.timer);
  feed.customerId = customerId;
  feed.events = [];
  feed.seen = new Set();
  feed.hooks = hooks;
  // A poll still in flight for the previous customer is dropped when it answers.
  feed.generation++;
  $('#activity-section').hidden = false;
  render();
  void poll(feed.generation);
}

async function poll(generation) {
  try {
    const fresh = await read(generation);
    if (fresh.length > 0) {
      render();
      if (fresh.some((event) => LIST_CHANGES.has(event.type))) await feed.hooks.reloadConnections();
      markRows();
    }
  } catch { /* the next poll, an event or the Refresh button reloads the list */ }
  // The next poll starts 2 s after this one ended: never two at once.
  if (generation === feed.generation) feed.timer = setTimeout(() => void poll(generation), POLL_MS);
}

/** This customer's events the bus delivered since the last poll; [] for another customer's poll. */
async function read(generation) {
  let response;
  try {
    response = await fetch('/_local/events', { cache: 'no-store' });
  } catch {
    if (generation === feed.generation) showState('The local API is not answering. Is `npm start` still running?');
    return [];
  }
  if (generation !== feed.generation) return [];
  if (!response.ok) {
    showState(response.status === 404 ? 'The local event bus is not running in this stack.' : `The local event bus answered ${response.status}.`);
    return [];
  }
  const { events = [] } = await response.json();
  if (generation !== feed.generation) return [];
  showState(null);
  return accept(events);
}

/** Keeps this customer's events not seen before. Delivery is at-least-once: the id is the dedupe key. */
function accept(events) {
  const fresh = events.filter((event) => event && event.customer_id === feed.customerId && !feed.seen.has(event.id));
  for (const event of fresh) feed.seen.add(event.id);
  feed.events.push(...fresh);
  // The bus keeps each connection's order, not an order across connections: sort by occurred_at.
  feed.events.sort((a, b) => String(a.occurred_at).localeCompare(String(b.occurred_at)));
  return fresh;
}

/** Events that move a connection's status; a company or a first sync after them changes nothing of it. */
const STATUS_CHANGES = new Set([
  'connection.connected', 'connection.reauthenticated', 'connection.reauth_required',
  'connection.status_changed', 'connection.disconnected',
]);

/** The connections whose latest status event says Finch needs the employer to sign in again. */
function needingReconnect() {
  const latest = new Map();
  for (const event of feed.events) if (STATUS_CHANGES.has(event.type)) latest.set(event.connection_id, event);
  return [...latest.values()].filter((event) => event.type === 'connection.reauth_required');
}

function render() {
  const list = $('#activity');
  const newestFirst = feed.events.slice(-FEED_ROWS).reverse();
  list.replaceChildren(...newestFirst.map((event) => {
    const item = document.createElement('li');
    item.dataset.type = event.type;
    item.dataset.connectionId = event.connection_id;
    const time = document.createElement('time');
    time.dateTime = event.occurred_at;
    time.textContent = new Date(event.occurred_at).toLocaleTimeString();
    const type = Object.assign(document.createElement('code'), { className: 'event-type', textContent: event.type });
    const provider = Object.assign(document.createElement('span'), { className: 'provider', textContent: event.provider_id });
    const id = Object.assign(document.createElement('span'), { className: 'muted connection-id', textContent: shortId(event.connection_id), title: event.connection_id });
    const what = Object.assign(document.createElement('span'), { className: 'hint', textContent: describe(event) });
    item.append(time, type, provider, id, what);
    return item;
  }));
  $('#activity-empty').hidden = feed.events.length > 0;
  renderPrompts();
}

function describe(event) {
  const label = TYPE_LABELS[event.type] ?? event.type;
  if (event.type === 'connection.status_changed') return `${event.previous_status ?? '?'} → ${event.status}`;
  if (event.reason) return `${label} (${event.reason})`;
  return label;
}

const shortId = (id) => (id && id.length > 12 ? `${id.slice(0, 8)}…` : id ?? '');

/** A prominent prompt per connection Finch refused: the employer reconnects before using the app. */
function renderPrompts() {
  const box = $('#reconnect');
  const prompts = needingReconnect().map((event) => {
    const prompt = document.createElement('div');
    prompt.className = 'reconnect-prompt';
    prompt.dataset.connectionId = event.connection_id;
    const text = document.createElement('p');
    text.textContent = `Finch needs the employer to sign in to ${event.provider_id} again (connection ${shortId(event.connection_id)}). Until then this connection returns no data.`;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'reconnect';
    button.textContent = 'Reconnect';
    button.addEventListener('click', () => feed.hooks.guarded(button, () => feed.hooks.reconnect(event.connection_id)));
    prompt.append(text, button);
    return prompt;
  });
  box.replaceChildren(...prompts);
  box.hidden = prompts.length === 0;
}

/** Marks the rows of the connections table that need a reconnect (after each list render). */
export function markRows() {
  const waiting = new Set(needingReconnect().map((event) => event.connection_id));
  for (const row of document.querySelectorAll('#connections tbody tr')) {
    row.classList.toggle('needs-reconnect', waiting.has(row.dataset.connectionId));
  }
}

function showState(text) {
  const note = $('#activity-state');
  note.hidden = !text;
  note.textContent = text ?? '';
}
