/**
 * JSON exactly as the region API writes it: Go's encoding/json (through
 * go-chi/render) escapes <, > and & and the two JavaScript line separators,
 * and json.Encoder ends the document with a newline. The console's client
 * sees the same bytes from this API as from Wutong's.
 */
export function goJson(value: unknown): string {
  return `${JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}
