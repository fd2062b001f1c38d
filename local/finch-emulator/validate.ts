// Request validation with Finch's 400 `invalid_request` answers. Strict on purpose: the SDK only
// sends known fields, so an unknown one means the backend built a request Finch would refuse.
import { invalidRequest } from './errors.js';
import { PRODUCTS } from './store.js';

export type Fields = Record<string, unknown>;

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function expectBody(body: unknown, allowed: readonly string[]): Fields {
  if (body === undefined) return {};
  if (!isObject(body)) throw invalidRequest('The request body must be a JSON object.');
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length) throw invalidRequest(`Unknown fields: ${unknown.join(', ')}.`);
  return body;
}

export function requiredString(fields: Fields, key: string): string {
  const value = fields[key];
  if (value === undefined || value === null) throw invalidRequest(`${key} is required.`);
  if (typeof value !== 'string' || value.trim() === '') throw invalidRequest(`${key} must be a non-empty string.`);
  return value;
}

/** Finch's optional fields accept `null` as "not given" (the SDK types them `T | null`). */
export function optionalString(fields: Fields, key: string): string | null {
  const value = fields[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '') throw invalidRequest(`${key} must be a non-empty string.`);
  return value;
}

export function optionalBoolean(fields: Fields, key: string): boolean | null {
  const value = fields[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean') throw invalidRequest(`${key} must be a boolean.`);
  return value;
}

export function optionalInteger(fields: Fields, key: string, min: number, max: number): number | null {
  const value = fields[key];
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalidRequest(`${key} must be an integer from ${min} to ${max}.`);
  }
  return value as number;
}

export function optionalEnum<T extends string>(fields: Fields, key: string, values: readonly T[]): T | null {
  const value = fields[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
    throw invalidRequest(`${key} must be one of ${values.join(', ')}.`);
  }
  return value as T;
}

export function products(fields: Fields, key: string, required: boolean): string[] | null {
  const value = fields[key];
  if (value === undefined || value === null) {
    if (required) throw invalidRequest(`${key} is required.`);
    return null;
  }
  if (!Array.isArray(value) || value.length === 0) throw invalidRequest(`${key} must be a non-empty array.`);
  value.forEach((product, index) => {
    if (typeof product !== 'string' || !(PRODUCTS as readonly string[]).includes(product)) {
      throw invalidRequest(`${key}.${index} is not a Finch product (one of ${PRODUCTS.join(', ')}).`);
    }
  });
  // Finch documents `deduction` as a deprecated alias of `benefits` that must not be combined with it.
  if (value.includes('benefits') && value.includes('deduction')) throw invalidRequest(`${key} must not combine benefits and deduction.`);
  return [...new Set(value as string[])];
}

export function optionalRedirectUri(fields: Fields, key: string): string | null {
  const value = optionalString(fields, key);
  if (value === null) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidRequest(`${key} must be an absolute URL.`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.hash) throw invalidRequest(`${key} must be an http(s) URL without a fragment.`);
  return value;
}

export function optionalEmail(fields: Fields, key: string): string | null {
  const value = optionalString(fields, key);
  if (value !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw invalidRequest(`${key} must be an email address.`);
  return value;
}
