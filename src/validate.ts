/** Option checks shared by the main thread and the worker; every failure is INVALID_OPTION and lists what is valid. */
import { RecommenderError } from './errors.ts';

/** `undefined` means "all defaults"; unknown keys are rejected so that a typo is not silently ignored. */
export function optionsObject(value: unknown, where: string, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalidOption(`${where}: expected an options object {${keys.join(', ')}}`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) invalidOption(`${where}: unknown option "${key}"; valid options are ${keys.join(', ')}`);
  }
  return value as Record<string, unknown>;
}

export function integerOption(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    invalidOption(`${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalidOption(`${name}: expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

export function choiceOption<T extends string>(value: unknown, name: string, valid: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!valid.includes(value as T)) invalidOption(`${name}: expected one of ${valid.map((v) => `'${v}'`).join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

export function invalidOption(message: string): never {
  throw new RecommenderError('INVALID_OPTION', message);
}
