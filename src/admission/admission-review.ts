import { isObject } from '../is-object.js';

/** The AdmissionReview versions the API server may send; we answer in the one we got. */
export const REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type ReviewVersion = (typeof REVIEW_VERSIONS)[number];

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  name?: string;
  operation?: string;
  dryRun?: boolean;
  object?: unknown;
  /** UPDATE (and DELETE): the object as it was; what the upgrade hold compares the new one with. */
  oldObject?: unknown;
}

export interface AdmissionReviewRequest {
  apiVersion: ReviewVersion;
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: ReviewVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** The body was not an AdmissionReview we can answer: the transport turns this into HTTP 400. */
export class BadReviewError extends Error {
  override name = 'BadReviewError';
}

/** Checks the envelope only; the object inside is the mutation's business. */
export function decodeReview(body: unknown): AdmissionReviewRequest {
  if (!isObject(body)) throw new BadReviewError('body is not a JSON object');
  if (body.kind !== 'AdmissionReview') throw new BadReviewError('kind is not AdmissionReview');
  const apiVersion = body.apiVersion;
  if (!REVIEW_VERSIONS.includes(apiVersion as ReviewVersion)) {
    throw new BadReviewError(`apiVersion ${JSON.stringify(apiVersion)} is not one of ${REVIEW_VERSIONS.join(', ')}`);
  }
  const request = body.request;
  if (!isObject(request)) throw new BadReviewError('request is missing');
  if (typeof request.uid !== 'string' || request.uid === '') throw new BadReviewError('request.uid is missing');
  return { apiVersion: apiVersion as ReviewVersion, request: request as unknown as AdmissionRequest };
}

export function reviewResponse(apiVersion: ReviewVersion, response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion, kind: 'AdmissionReview', response };
}
