import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/**
 * The server speaks HTTP/2 and HTTP/1.1 on one port (ALPN decides), so a
 * handler sees either protocol's request and response objects. Both share the
 * parts the handlers use: headers, the body stream, writeHead/end.
 */
export type WebhookRequest = IncomingMessage | Http2ServerRequest;
export type WebhookResponse = ServerResponse | Http2ServerResponse;
export type WebhookListener = (req: WebhookRequest, res: WebhookResponse) => void;
