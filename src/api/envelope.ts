import type { Response } from 'express';
import { ValidationError, type ApiError } from './api-error.js';
import { goJson, goJsonText, GoJsonText } from './go-json.js';

/**
 * The region API's ResponseBody (util/http/api.go): `bean` for an object,
 * `list` for a list, `msg` for an error, `validation_error` for a 400 on
 * input; fields in that struct's order, empty ones left out. Errors also
 * carry `code` and `field`, which the console ignores.
 */
function send(res: Response, status: number, body: Record<string, unknown>): void {
  res.status(status).type('application/json; charset=utf-8').send(goJson(body));
}

export function sendBean(res: Response, bean: unknown, status = 200): void {
  // ReturnSuccess(nil) writes {}; a typed nil (no schedule) writes {"bean":null}.
  send(res, status, bean === undefined ? {} : { bean });
}

/** `continue` (only with ?limit, when more follow) is this API's addition: pass it back as ?continue= for the next page. */
export function sendList(res: Response, list: readonly unknown[], continueToken?: string): void {
  if (list.length > 0 && list.every((item) => item instanceof GoJsonText)) {
    const items = list.map((item) => item.text).join(",");
    const rest = continueToken ? `,"continue":${goJsonText(continueToken)}` : '';
    res.status(200).type('application/json; charset=utf-8').send(`{"list":[${items}]${rest}}\n`);
    return;
  }
  send(res, 200, { list, ...(continueToken ? { continue: continueToken } : {}) });
}

export function sendError(res: Response, err: ApiError): void {
  if (err instanceof ValidationError) {
    send(res, err.status, { validation_error: err.fields, code: err.code, ...(err.field ? { field: err.field } : {}) });
    return;
  }
  send(res, err.status, { msg: err.message, code: err.code, ...(err.field ? { field: err.field } : {}) });
}
