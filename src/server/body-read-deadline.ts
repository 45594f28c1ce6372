import { constants, Http2ServerRequest } from 'node:http2';
import type { WebhookListener, WebhookRequest, WebhookResponse } from './protocols.js';

/**
 * Request bodies must arrive within a deadline. A client that sends its
 * headers and then a byte a second holds whatever the server set aside for
 * the body (the admission body budget, a JSON parser's buffer) and a
 * connection for as long as it likes: Node's own requestTimeout (300 s) only
 * covers HTTP/1.1, and nothing bounds an HTTP/2 stream's body. Past the
 * deadline the request is answered (408) if it has not been yet, and the
 * rest of the body is refused: the HTTP/1.1 connection is closed, the HTTP/2
 * stream reset (the connection's other streams go on).
 */

/** Whether the request declares a body at all (a GET normally does not: nothing to wait for). */
export function declaresBody(req: WebhookRequest): boolean {
  if (req instanceof Http2ServerRequest) return !req.stream.endAfterHeaders;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0);
}

/** Whether the client has sent all of its body (read by the handler or not), or is gone. */
export function bodyReceived(req: WebhookRequest): boolean {
  if (req instanceof Http2ServerRequest) {
    const { stream } = req;
    // state.remoteClose: the peer ended its side of the stream (END_STREAM).
    return stream.destroyed || stream.endAfterHeaders || stream.state.remoteClose === 1;
  }
  // complete: the parser has seen the whole message, whether or not the handler read it.
  return req.complete || req.socket.destroyed;
}

/**
 * Call before writing the deadline's answer: over HTTP/1.1 the answer then
 * closes the connection (Node closes it once the answer is written), so the
 * client cannot go on sending the refused body. HTTP/2 has no Connection
 * header; its stream is reset by stopReceiving.
 */
export function closeAfterAnswer(req: WebhookRequest, res: WebhookResponse): void {
  if (!(req instanceof Http2ServerRequest) && !res.headersSent) res.setHeader('connection', 'close');
}

/**
 * Refuses the rest of the body. HTTP/2: RST_STREAM(NO_ERROR) once the answer
 * is written (RFC 9113 §8.1: the server may answer before the request is
 * complete and then ask the client to stop sending); other streams of the
 * connection are untouched. HTTP/1.1: an answer written with
 * `Connection: close` ends the connection by itself; otherwise (the answer
 * was already sent, keep-alive) the connection is destroyed.
 */
export function stopReceiving(req: WebhookRequest, res: WebhookResponse): void {
  if (req instanceof Http2ServerRequest) {
    if (!req.stream.destroyed) req.stream.close(constants.NGHTTP2_NO_ERROR);
    return;
  }
  if (res.getHeader('connection') === 'close' && !res.writableFinished) return;
  req.socket.destroy();
}

/**
 * Wraps a listener so that every request with a body must have sent all of
 * it within `timeoutMs` of its arrival; `answerLate` writes the answer (a
 * 408 in the listener's own format) when nothing was answered yet. The
 * handler's own reading fails once the body is refused (aborted), and an
 * answer it writes afterwards is dropped by the transport.
 */
export function withBodyReadDeadline(listener: WebhookListener, timeoutMs: number, answerLate: (res: WebhookResponse) => void): WebhookListener {
  return (req, res) => {
    if (!declaresBody(req)) {
      listener(req, res);
      return;
    }
    const timer = setTimeout(() => {
      if (bodyReceived(req)) return;
      if (!res.headersSent) {
        closeAfterAnswer(req, res);
        answerLate(res);
      }
      stopReceiving(req, res);
    }, timeoutMs);
    // Never what keeps a stopping process alive: the connection does that.
    timer.unref();
    const settle = (): void => {
      if (bodyReceived(req)) clearTimeout(timer);
    };
    req.once('end', () => clearTimeout(timer));
    // An answer written before the body is in does not end the deadline:
    // the client is still sending, and is still held to it.
    res.once('close', settle);
    listener(req, res);
  };
}
