import { ApiException } from '@kubernetes/client-node';
import { errorMessage } from '../error-message.js';

/** The HTTP status of a failed API call, or undefined for network and other errors. */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? (err as ApiException<unknown>).code : undefined;
}

/**
 * One line saying what failed: "HTTP 403: secrets is forbidden: ..." rather
 * than client-node's message, which embeds the whole response (headers included).
 */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const e = err as ApiException<unknown>;
    return `HTTP ${e.code}${statusMessage(e.body) ? `: ${statusMessage(e.body)}` : ''}`;
  }
  // node-fetch's "The user aborted a request." hides that api-client.ts's deadline fired.
  if (err instanceof Error && err.name === 'AbortError') return 'no answer from the API server within the request timeout';
  return errorMessage(err);
}

function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      return body.slice(0, 200) || undefined;
    }
  }
  if (value && typeof value === 'object' && 'message' in value && typeof value.message === 'string') return value.message;
  return undefined;
}
