/**
 * JSON exactly as the region API writes it: Go's encoding/json (through
 * go-chi/render) escapes <, > and & and the two JavaScript line separators,
 * and json.Encoder ends the document with a newline. The console's client
 * sees the same bytes from this API as from Wutong's.
 */
export function goJson(value: unknown): string {
  return `${goJsonText(value)}\n`;
}

/** The same without the document's newline: a value to embed in a larger document. */
export function goJsonText(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A value already written by goJsonText. Lists of records are answered
 * from these, joined, so a record is rendered once per version of what it is
 * made of rather than on every request (see use-cases/backups.ts).
 */
export class GoJsonText {
  constructor(readonly text: string) {}
}
