const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes a value so that a POSIX shell reads it back as exactly one word. */
export function shellQuote(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
