// Schema pieces the requests of more than one function use, each made by the request schema that
// uses it (so a function builds only the pieces of its own routes, when it builds those). Each
// route's request schema sits beside its handler (functions/<fn>/schema.ts), so a function's bundle
// builds only its own. Request objects are strict: an unknown field is a 400, not ignored.
import { CONNECTION_ID_PATTERN, CUSTOMER_ID_PATTERN, ENTITY_PATTERN } from '#core/ids.js';
import { FINCH_PRODUCTS } from '#core/model.js';
import * as z from '#core/zod.js';

export const customerId = () => z.string().check(z.regex(CUSTOMER_ID_PATTERN, 'must be 1-255 characters of A-Z a-z 0-9 . _ @ - starting with a letter or digit'));
export const connectionId = () => z.string().check(z.regex(CONNECTION_ID_PATTERN, 'must be a connection id'));
export const entity = () => z.string().check(z.regex(ENTITY_PATTERN, 'must be 1-32 characters of a-z 0-9 _ - starting with a letter or digit'));
export const providerId = () => z.string().check(z.regex(/^[a-z0-9_]{1,64}$/, 'must be a Finch provider id'));

// What a Connect session takes (create-session, reauthenticate).
export const products = () => z.array(z.enum(FINCH_PRODUCTS)).check(z.minLength(1), z.maxLength(FINCH_PRODUCTS.length));
export const minutesToExpire = () => z.number().check(z.int(), z.gte(1), z.lte(129600));
export const flow = () => z.enum(['redirect', 'embedded']);
export const returnTo = () => z.string().check(z.minLength(1), z.maxLength(2048));

/** A page size from the query string (connections, audit trail, directory): 1 to 100. */
export const pageLimit = () => z.pipe(
  z.pipe(z.string().check(z.regex(/^\d{1,3}$/, 'must be an integer from 1 to 100')), z.transform(Number)),
  z.number().check(z.gte(1), z.lte(100)),
);
