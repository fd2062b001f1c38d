// The `subject` snapshot of an audit entry (ports/audit.ts): the connection as the change left it,
// made from what the writer read and what it wrote, so the entry's event needs no second read.
import type { Connection, ConnectionStatus } from './model.js';
import type { AuditSubject } from './ports/audit.js';

type Subjected = Pick<Connection, 'entity' | 'provider_id' | 'company_id' | 'status'>;

/** `connection` as read (or as written), with what the change set on top of it. */
export function subjectOf(connection: Subjected, change: { status?: ConnectionStatus; company_id?: string | null } = {}): AuditSubject {
  return {
    entity: connection.entity,
    provider_id: connection.provider_id,
    // A change that did not name the company (undefined) left the stored one.
    company_id: change.company_id === undefined ? connection.company_id : change.company_id,
    status: change.status ?? connection.status,
  };
}
