/**
 * An answer other than success, with the status the region API should have
 * used (it answers every handler error with 500). `code` is stable for
 * clients that branch on it; `field` names the input at fault.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** 400 with the region API's `validation_error` map: field → messages. */
export class ValidationError extends ApiError {
  constructor(readonly fields: Readonly<Record<string, readonly string[]>>) {
    const [first = 'request'] = Object.keys(fields);
    super(400, `invalid ${first}: ${fields[first]?.join('; ') ?? 'invalid'}`, 'invalid_request', first);
    this.name = 'ValidationError';
  }
}

export const notFound = (message: string, code = 'not_found'): ApiError => new ApiError(404, message, code);
export const conflict = (message: string, code = 'conflict'): ApiError => new ApiError(409, message, code);
export const unavailable = (message: string, code = 'unavailable'): ApiError => new ApiError(503, message, code);
