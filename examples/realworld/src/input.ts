import { UnprocessableEntityException } from '@nestjs/common';

/** RealWorld's validation error: 422 with `{ errors: { <field>: [<message>] } }`. */
export function invalid(field: string, message: string): UnprocessableEntityException {
  return new UnprocessableEntityException({ errors: { [field]: [message] } });
}

type FieldSpec = Record<string, 'string' | 'string?' | 'string|null' | 'string[]?'>;
type FieldValue<S> = S extends 'string' ? string : S extends 'string?' ? string | undefined : S extends 'string|null' ? string | null | undefined : string[] | undefined;

/**
 * The object under `wrapper` in a request body (`{ "user": { … } }`), checked field by field:
 * `string` is required and not empty, `string?` optional, `string|null` may be null (bio, image),
 * `string[]?` an optional list of strings. Anything else is a 422 naming the field.
 */
export function bodyOf<S extends FieldSpec>(body: unknown, wrapper: string, spec: S): { [K in keyof S]: FieldValue<S[K]> } {
  const inner = (body as Record<string, unknown> | null | undefined)?.[wrapper];
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw invalid(wrapper, `must be an object: { "${wrapper}": { … } }`);
  const out: Record<string, unknown> = {};
  for (const [field, kind] of Object.entries(spec)) {
    const value = (inner as Record<string, unknown>)[field];
    if (value === undefined) {
      if (kind === 'string') throw invalid(field, "can't be blank");
    } else if (kind === 'string[]?') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === '')) throw invalid(field, 'must be a list of non-empty strings');
    } else if (!(value === null && kind === 'string|null') && (typeof value !== 'string' || (kind !== 'string|null' && value.trim() === ''))) {
      throw invalid(field, kind === 'string|null' ? 'must be a string or null' : "can't be blank");
    }
    out[field] = value;
  }
  return out as { [K in keyof S]: FieldValue<S[K]> };
}

/** `limit` and `offset` of a list, with RealWorld's defaults (20, 0). */
export function page(limit: string | undefined, offset: string | undefined): { limit: number; offset: number } {
  const number = (value: string | undefined, fallback: number, field: string, max: number) => {
    if (value === undefined || value === '') return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max) throw invalid(field, `must be a whole number from 0 to ${max}`);
    return n;
  };
  return { limit: number(limit, 20, 'limit', 100), offset: number(offset, 0, 'offset', 1_000_000) };
}

/** A URL-safe slug of a title: lower case, words joined by `-`. */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (slug === '') throw invalid('title', 'must contain a letter or a digit');
  return slug;
}
