import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { BadReviewError } from '../admission/admission-review.js';
import { decodeReview, reviewResponse, type ReviewVersion } from '../admission/admission-review.js';
import { handleReview } from '../admission/review-handler.js';
import { admissionDuration, admissionRequests, admissionWarnings, annotationsInjected } from '../observability/metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';

// The API server refuses objects over 3 MiB, so no genuine review is larger;
// express's 100 kB default would reject large but valid pods.
const BODY_LIMIT = '3mb';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

function reject(res: Response, status: number, reason: string): void {
  res.status(status).type('text/plain').send(`${reason}\n`);
}

/**
 * The one transport for admission: body limit, envelope checks, uid echo,
 * metrics, and the guarantee that an internal error never blocks a pod.
 */
export function admissionRouter(store: PolicyStore, log: Logger): Router {
  const router = express.Router();
  // Parse whatever content type arrives: the API server always sends JSON, and
  // a clear 400 for a non-JSON body beats a silent empty one.
  router.post('/mutate', express.json({ limit: BODY_LIMIT, type: () => true, strict: true }), (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    let review;
    try {
      review = decodeReview(req.body);
    } catch (err) {
      admissionRequests.inc({ outcome: 'bad_request' });
      reject(res, 400, `bad AdmissionReview: ${(err as BadReviewError).message}`);
      return;
    }
    const { request } = review;
    const apiVersion: ReviewVersion = review.apiVersion;
    const policy = store.current();
    try {
      const result = handleReview(request, policy);
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
      res.json(reviewResponse(apiVersion, result.response));
    } catch (err) {
      // A bug here must not take pods down with it: allow unchanged, and make it loud.
      admissionRequests.inc({ outcome: 'error' });
      log.error({ uid: request.uid, namespace: request.namespace, name: request.name, err }, 'admission failed; pod allowed unchanged');
      res.json(reviewResponse(apiVersion, { uid: request.uid, allowed: true }));
    } finally {
      admissionDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  });

  router.use('/mutate', (err: BodyParserError, _req: Request, res: Response, next: NextFunction) => {
    if (err.type === 'entity.too.large') {
      admissionRequests.inc({ outcome: 'bad_request' });
      reject(res, 413, `request body exceeds ${BODY_LIMIT}, the API server's own object limit`);
      return;
    }
    if (err.type === 'entity.parse.failed' || err.status === 400) {
      admissionRequests.inc({ outcome: 'bad_request' });
      reject(res, 400, `bad AdmissionReview: body is not valid JSON (${err.message.split('\n')[0]})`);
      return;
    }
    next(err);
  });
  return router;
}
