// The sample events for `sam local invoke` (events/*.json) stay true to AWS's event shape and to
// the route table: a JWT route's event carries verified claims, an unauthenticated one none.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas';
import { PROJECT_ROOT } from '../../lib/constructs/service-function.js';
import { ROUTES, routeKey } from '../../lib/routes.js';

const EVENTS_DIR = join(PROJECT_ROOT, 'events');
const files = readdirSync(EVENTS_DIR).filter((file) => file.endsWith('.json') && file !== 'env.json');
const load = (file: string) => JSON.parse(readFileSync(join(EVENTS_DIR, file), 'utf8'));

test('every function of the route table has at least one sample event', () => {
  const covered = new Set(files.map((file) => ROUTES.find((route) => routeKey(route) === load(file).routeKey)?.function));
  expect([...new Set(ROUTES.map((route) => route.function))].filter((name) => !covered.has(name))).toEqual([]);
});

describe.each(files)('events/%s', (file) => {
  test('is a valid API Gateway v2 event for a route of the table, authorized as the route is', () => {
    const event = load(file);
    expect(APIGatewayProxyEventV2Schema.safeParse(event).success).toBe(true);
    const route = ROUTES.find((candidate) => routeKey(candidate) === event.routeKey);
    expect(route).toBeDefined();
    expect(event.requestContext.routeKey).toBe(event.routeKey);
    expect(event.requestContext.http.method).toBe(route!.method);
    if (route!.auth === 'jwt') expect(typeof event.requestContext.authorizer.jwt.claims.customer_id).toBe('string');
    else expect(event.requestContext.authorizer).toBeUndefined();
  });
});
