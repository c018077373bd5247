// One row shape from both drivers: `pg` and PGlite disagree on several types by default
// (int8 and numeric as strings in pg, bytea as Uint8Array in PGlite, date as local vs UTC
// midnight). These text-format parsers are installed per pool / per PGlite instance, never
// globally, so nothing else in the process changes behaviour.

export const PG_OIDS = {
  int8: 20,
  numeric: 1700,
  bytea: 17,
  date: 1082,
  int8Array: 1016,
  numericArray: 1231,
} as const;

/** int8 → number; refuses values a JS number cannot hold exactly instead of rounding them. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int8 value ${text} is outside the safe JS integer range`);
  }
  return value;
}

/** numeric → number (numeric columns here hold scores and metrics, not money). */
export function parseNumeric(text: string): number {
  return Number(text);
}

/** bytea in hex format (\x0a0b...) → Buffer. */
export function parseBytea(text: string): Buffer {
  return Buffer.from(text.slice(2), 'hex');
}

/** date stays 'YYYY-MM-DD': a calendar date has no time zone to guess. */
export function parseDate(text: string): string {
  return text;
}

/** Applies a scalar parser to every element of a (possibly nested) parsed array. */
export function mapArray(value: unknown, parse: (text: string) => unknown): unknown {
  if (Array.isArray(value)) return value.map((element) => mapArray(element, parse));
  return typeof value === 'string' ? parse(value) : value;
}
