// Matches a request to a route of lib/routes.ts the way API Gateway does: exact method, path
// segments literal or `{name}` (one segment) or `{name+}` (the rest), the most specific route first.
// HTTP APIs route on the percent-decoded path (`%2F` is a slash by then), so this takes that.
import type { RouteSpec } from '../../lib/routes.js';

export interface RouteMatch {
  route: RouteSpec;
  pathParameters: Record<string, string> | undefined;
}

interface Compiled { route: RouteSpec; pattern: RegExp; names: string[]; specificity: number[] }

export type Router = (method: string, decodedPath: string) => RouteMatch | undefined;

export function createRouter(routes: readonly RouteSpec[]): Router {
  const compiled = routes.map(compile).sort((a, b) => compareSpecificity(a.specificity, b.specificity));
  return (method, decodedPath) => {
    for (const entry of compiled) {
      if (entry.route.method !== method) continue;
      const match = entry.pattern.exec(decodedPath);
      if (!match) continue;
      if (entry.names.length === 0) return { route: entry.route, pathParameters: undefined };
      const pathParameters: Record<string, string> = {};
      entry.names.forEach((name, index) => { pathParameters[name] = match[index + 1]; });
      return { route: entry.route, pathParameters };
    }
    return undefined;
  };
}

function compile(route: RouteSpec): Compiled {
  const names: string[] = [];
  const specificity: number[] = [];
  const source = route.path.split('/').map((segment) => {
    const param = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(segment);
    if (!param) {
      specificity.push(0);
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    names.push(param[1]);
    specificity.push(param[2] ? 2 : 1);
    return param[2] ? '(.+)' : '([^/]+)';
  }).join('/');
  return { route, pattern: new RegExp(`^${source}$`), names, specificity };
}

/** Literal segments beat `{param}`, which beats `{proxy+}`, segment by segment from the left. */
function compareSpecificity(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? -1) - (b[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}
