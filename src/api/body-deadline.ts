import { formatDuration } from '../duration.js';
import { withBodyReadDeadline } from '../server/body-read-deadline.js';
import type { WebhookListener } from '../server/protocols.js';
import { goJson } from './go-json.js';

/**
 * The backup API's listener held to BODY_READ_TIMEOUT: a request body not
 * fully received in time is answered 408 in the region API's envelope and
 * the rest of it refused (see server/body-read-deadline.ts). Wrapped around
 * the whole app rather than inside its pipeline, so the deadline counts from
 * the request's arrival whatever the pipeline does first.
 */
export function apiBodyReadDeadline(listener: WebhookListener, timeoutMs: number): WebhookListener {
  const body = goJson({ msg: `request body not received within ${formatDuration(timeoutMs)} (BODY_READ_TIMEOUT)`, code: 'body_timeout', field: 'body' });
  return withBodyReadDeadline(listener, timeoutMs, (res) => {
    res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}
