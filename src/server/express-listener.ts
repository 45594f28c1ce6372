import { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import express, { type Express } from 'express';
import type { WebhookListener } from './protocols.js';

/**
 * Express on both protocols. Express gives every request the prototype of
 * node:http's IncomingMessage; an HTTP/2 compatibility request keeps its
 * headers and stream behind its own prototype's getters, so express breaks on
 * it (the first body read throws). The HTTP/2 copy of the app therefore gets
 * express's request and response methods on top of the HTTP/2 prototypes;
 * `configure` mounts the same routes on both copies.
 */
export function expressListener(configure: (app: Express) => void): WebhookListener {
  const http1 = express();
  const http2 = express();
  const request: object = express.request;
  const response: object = express.response;
  Object.setPrototypeOf(http2.request, Object.create(Http2ServerRequest.prototype, Object.getOwnPropertyDescriptors(request)) as object);
  Object.setPrototypeOf(http2.response, Object.create(Http2ServerResponse.prototype, Object.getOwnPropertyDescriptors(response)) as object);
  for (const app of [http1, http2]) {
    app.disable('x-powered-by');
    app.disable('etag');
    configure(app);
  }
  return (req, res) => {
    // The casts only pick express's view of the two node types it is built on.
    if (req instanceof Http2ServerRequest) http2(req as unknown as express.Request, res as unknown as express.Response);
    else http1(req, res as Parameters<Express>[1]);
  };
}
