// Warm overhead: each function in a process of its own (bench/warm-child.ts), one after the other
// so they do not share the two cores.
import { pathToFileURL } from 'node:url';
import { runPhase } from './child.js';
import { AWS_LIKE_ENV } from './cold.js';
import type { WarmRequest, WarmResult } from './warm-child.js';

/**
 * The deployed configuration, with every AWS and Finch endpoint pointed at a closed loopback port:
 * the ports are fakes, and should one be left real it fails fast instead of reaching AWS.
 */
const WARM_ENV: Record<string, string> = {
  ...AWS_LIKE_ENV,
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  FINCH_API_BASE_URL: 'http://127.0.0.1:9',
};

export function measureWarm(fn: string, bundle: string, iterations: number, warmup: number): Promise<WarmResult> {
  const request: WarmRequest = { fn, bundle: pathToFileURL(bundle).href, iterations, warmup };
  return runPhase<WarmResult>('warm-child.ts', { ...WARM_ENV, AWS_LAMBDA_FUNCTION_NAME: `bench-${fn}` }, request);
}
