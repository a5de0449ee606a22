import { parseDuration } from '@foundation/kit/duration';
import type { DurationLimit } from './spec-limits.js';
import type { ProblemList, SpecPath } from './spec-problem.js';

/** A plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export interface StringRule {
  required?: boolean;
  maxLength?: number;
  pattern?: RegExp;
  /** What the pattern asks for, in words. */
  patternHint?: string;
}

/**
 * Reads the fields of one object of the spec and reports what is wrong with them at their paths. Proto3
 * JSON writes a field at its default as missing, `null`, `""` or `0`, so all of those read as "not set".
 * Nothing here throws, whatever the input.
 */
export class FieldReader {
  private constructor(
    readonly problems: ProblemList,
    readonly object: Record<string, unknown>,
    readonly path: SpecPath,
  ) {}

  /** A reader for `value`, or undefined (and a problem) when it is not an object. */
  static of(problems: ProblemList, value: unknown, path: SpecPath): FieldReader | undefined {
    if (isJsonObject(value)) return new FieldReader(problems, value, path);
    problems.add(path, 'must be an object');
    return undefined;
  }

  at(key: string): SpecPath {
    return [...this.path, key];
  }

  report(key: string, message: string): void {
    this.problems.add(this.at(key), message);
  }

  /** The raw value, undefined when unset (`null` included); inherited properties are not fields. */
  raw(key: string): unknown {
    return Object.hasOwn(this.object, key) ? (this.object[key] ?? undefined) : undefined;
  }

  /** Reports every key outside `known`, naming the ones that exist. */
  onlyKeys(known: readonly string[], what: string): void {
    for (const key of Object.keys(this.object)) {
      if (!known.includes(key)) {
        this.report(key, `is not a field of ${what}${known.length > 0 ? ` (it has ${known.join(', ')})` : ' (it has none)'}`);
      }
    }
  }

  string(key: string, rule: StringRule = {}): string | undefined {
    const value = this.raw(key);
    if (value === undefined || value === '') {
      if (rule.required) this.report(key, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.report(key, 'must be a string');
      return undefined;
    }
    if (rule.maxLength !== undefined && [...value].length > rule.maxLength) {
      this.report(key, `must be at most ${rule.maxLength} characters`);
      return undefined;
    }
    if (rule.pattern !== undefined && !rule.pattern.test(value)) {
      this.report(key, `must be ${rule.patternHint ?? `of the form ${rule.pattern.source}`}`);
      return undefined;
    }
    return value;
  }

  /** A number in `[min, max]`, undefined when unset (proto3 writes 0 for unset) or reported. */
  number(key: string, range: { min: number; max: number; integer?: boolean; required?: boolean }): number | undefined {
    const value = this.raw(key);
    if (value === undefined || value === 0) {
      if (range.required) this.report(key, `is required: ${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`);
      return undefined;
    }
    const wrongKind = typeof value !== 'number' || !Number.isFinite(value) || (range.integer && !Number.isInteger(value));
    if (wrongKind || value < range.min || value > range.max) {
      this.report(key, `must be ${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`);
      return undefined;
    }
    return value;
  }

  boolean(key: string): boolean {
    const value = this.raw(key);
    if (value === undefined) return false;
    if (typeof value !== 'boolean') {
      this.report(key, 'must be true or false');
      return false;
    }
    return value;
  }

  /** A duration such as "30s" within the limit, in milliseconds; unset (or "") means the limit's default. */
  duration(key: string, limit: DurationLimit, required = false): number {
    const text = this.string(key, { required });
    if (text === undefined) return limit.defaultMs;
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch {
      this.report(key, 'must be a duration: a whole number and a unit, ms, s, m, h or d (e.g. "30s")');
      return limit.defaultMs;
    }
    if (ms < limit.minMs) this.report(key, limit.minMs > 0 ? 'must be longer than 0' : 'must not be negative');
    else if (ms > limit.maxMs) this.report(key, `must be at most ${limit.maxText}`);
    return ms;
  }

  /** An array, or undefined when unset; anything else is reported. */
  array(key: string, required = false): unknown[] | undefined {
    const value = this.raw(key);
    if (value === undefined) {
      if (required) this.report(key, 'is required');
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.report(key, 'must be an array');
      return undefined;
    }
    return value;
  }

  /** A reader for a nested object; unset reads as `{}`. */
  child(key: string): FieldReader | undefined {
    const value = this.raw(key);
    if (value === undefined) return new FieldReader(this.problems, {}, this.at(key));
    return FieldReader.of(this.problems, value, this.at(key));
  }
}
