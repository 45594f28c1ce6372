import type { Logger } from 'pino';
import { decodeReview, reviewResponse, type AdmissionReviewResponse } from '../admission/admission-review.js';
import type { ExcludedNamespaces } from '../admission/excluded-namespaces.js';
import { handleReview } from '../admission/review-handler.js';
import { admissionBodyBytesInFlight, admissionDuration, admissionRequests, admissionWarnings, annotationsInjected } from '../observability/metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';
import { formatDuration } from '../duration.js';
import type { BodyBudget } from './body-budget.js';
import { bodyReceived, closeAfterAnswer, stopReceiving } from './body-read-deadline.js';
import type { WebhookListener, WebhookRequest, WebhookResponse } from './protocols.js';

// The API server refuses objects over 3 MiB, so no genuine review is larger.
export const BODY_LIMIT_BYTES = 3 * 1024 * 1024;
const TOO_LARGE = `request body exceeds 3 MiB (${BODY_LIMIT_BYTES} bytes), the API server's own object limit`;

function reject(res: WebhookResponse, status: number, reason: string, outcome = 'bad_request', extraHeaders: Record<string, string> = {}): void {
  admissionRequests.inc({ outcome });
  const body = `${reason}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extraHeaders });
  res.end(body);
}

/**
 * Over the body budget: a fast non-200 answer, which the API server handles
 * like any failed call, by the webhook's failurePolicy; better than buffering
 * on towards an OOM kill that fails every review at once.
 */
function overBudget(res: WebhookResponse, budget: BodyBudget): void {
  reject(res, 429, `too many admission bodies in flight (budget ${budget.limitBytes} bytes); try again`, 'overloaded', { 'retry-after': '1' });
}

/**
 * The body did not arrive in time: its share of the budget was given back
 * already; the answer closes the exchange (an AdmissionReview answer needs the
 * request's uid, which is in the body that never came, so a plain 408 with
 * the reason, like the transport's other refusals).
 */
function tooSlow(req: WebhookRequest, res: WebhookResponse, timeoutMs: number): void {
  closeAfterAnswer(req, res);
  reject(res, 408, `request body not received within ${formatDuration(timeoutMs)} (ADMISSION_BODY_READ_TIMEOUT); the rest of it is refused`, 'body_timeout');
  stopReceiving(req, res);
}

function answer(res: WebhookResponse, review: AdmissionReviewResponse): void {
  const body = JSON.stringify(review);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * POST /mutate, served by a plain node:http handler rather than express:
 * measured under `npm run bench`, express's request/response wrappers cost
 * about 40% of the CPU of a review (see bench/README.md). This is the one
 * transport for admission: body limit, envelope checks, uid echo, metrics,
 * and the guarantee that an internal error never blocks a pod.
 */
export function admissionListener(
  store: PolicyStore,
  log: Logger,
  budget?: BodyBudget,
  excludedNamespaces?: ExcludedNamespaces,
  /** ADMISSION_BODY_READ_TIMEOUT: the whole body must be in within this; none: no deadline (tests). */
  bodyReadTimeoutMs?: number,
): WebhookListener {
  const review = (req: WebhookRequest, res: WebhookResponse, raw: string): void => {
    const started = process.hrtime.bigint();
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (err) {
      reject(res, 400, `bad AdmissionReview: body is not valid JSON (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    let decoded;
    try {
      decoded = decodeReview(body);
    } catch (err) {
      reject(res, 400, `bad AdmissionReview: ${(err as Error).message}`);
      return;
    }
    const { request, apiVersion } = decoded;
    const policy = store.current();
    try {
      const result = handleReview(request, policy, excludedNamespaces);
      admissionRequests.inc({ outcome: result.outcome });
      for (const w of result.warnings) admissionWarnings.inc({ reason: w.reason });
      if (result.added.labels) annotationsInjected.inc({ kind: 'label' }, result.added.labels);
      if (result.added.fsb) annotationsInjected.inc({ kind: 'fsb' }, result.added.fsb);
      if (result.added.hooks) annotationsInjected.inc({ kind: 'hook' }, result.added.hooks);
      if (log.isLevelEnabled('debug')) {
        log.debug(
          {
            uid: request.uid,
            namespace: request.namespace,
            name: request.name,
            operation: request.operation,
            outcome: result.outcome,
            skipReason: result.skipReason,
            rule: result.response.auditAnnotations?.rule,
            policyGeneration: policy.generation,
          },
          'admission review',
        );
      }
      answer(res, reviewResponse(apiVersion, result.response));
    } catch (err) {
      // A bug here must not take pods down with it: allow unchanged, and make it loud.
      admissionRequests.inc({ outcome: 'error' });
      log.error({ uid: request.uid, namespace: request.namespace, name: request.name, err }, 'admission failed; pod allowed unchanged');
      answer(res, reviewResponse(apiVersion, { uid: request.uid, allowed: true }));
    } finally {
      admissionDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  };

  return (req, res) => {
    const declared = Number(req.headers['content-length']);
    if (declared > BODY_LIMIT_BYTES) {
      reject(res, 413, TOO_LARGE);
      req.resume();
      return;
    }
    // What this body holds of the budget: the declared length up front, or
    // chunk by chunk when the length is not declared. Given back once, when
    // the exchange is over however it ends.
    let reserved = 0;
    const reserve = (bytes: number): boolean => {
      if (!budget) return true;
      if (!budget.tryReserve(bytes)) return false;
      reserved += bytes;
      admissionBodyBytesInFlight.set(budget.inUseBytes);
      return true;
    };
    const releaseBudget = (): void => {
      if (!budget) return;
      budget.release(reserved);
      reserved = 0;
      admissionBodyBytesInFlight.set(budget.inUseBytes);
    };
    res.once('close', releaseBudget);
    if (Number.isInteger(declared) && declared > 0 && !reserve(declared)) {
      overBudget(res, budget!);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        refused = true;
        chunks.length = 0;
        reject(res, 413, TOO_LARGE);
        return;
      }
      if (budget && size > reserved && !reserve(size - reserved)) {
        refused = true;
        chunks.length = 0;
        overBudget(res, budget);
        return;
      }
      chunks.push(chunk);
    });
    // A client that sends its body slowly (a byte a second, say) would hold
    // its share of the budget, and a connection, for as long as it liked:
    // past the deadline both are given back at once. A body still arriving
    // after another refusal (413, 429) is cut then too.
    const deadline =
      bodyReadTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (bodyReceived(req)) return;
            if (refused || res.headersSent) {
              stopReceiving(req, res);
              return;
            }
            refused = true;
            chunks.length = 0;
            releaseBudget();
            tooSlow(req, res, bodyReadTimeoutMs);
          }, bodyReadTimeoutMs);
    // Never what keeps a stopping process alive: the connection does that.
    deadline?.unref();
    res.once('close', () => {
      if (bodyReceived(req)) clearTimeout(deadline);
    });
    req.on('end', () => {
      clearTimeout(deadline);
      if (!refused) review(req, res, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    });
    req.on('error', (err) => log.warn({ err: err.message }, 'admission request stream failed'));
  };
}
