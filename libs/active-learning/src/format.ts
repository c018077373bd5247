/** 0.072 → "7.2%", 0.02 → "2%", 0.0012 → "0.12%": two significant digits, for reasons shown to people. */
export function percent(p: number): string {
  if (p === 0) return '0%';
  return `${Number((p * 100).toPrecision(2))}%`;
}
