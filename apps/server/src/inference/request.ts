// Per-request serving rules shared by /predict and /v2: the deadline and the client-gone signal.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';

/** The header a client may send to ask for a shorter deadline than the server's (ms). */
export const TIMEOUT_HEADER = 'request-timeout-ms';

/** performance.now() time by which the request must be answered: its arrival plus the server's timeout, or the client's shorter one. */
export function deadlineOf(request: FastifyRequest, reply: FastifyReply, serverMs: number): number {
  const raw = request.headers[TIMEOUT_HEADER];
  let ms = serverMs;
  if (raw !== undefined) {
    const asked = Number(raw);
    if (!Number.isInteger(asked) || asked < 1) {
      throw new HttpError(400, 'BAD_TIMEOUT', `The ${TIMEOUT_HEADER} header is "${String(raw)}"; send a whole number of milliseconds of at least 1.`);
    }
    ms = Math.min(ms, asked);
  }
  return performance.now() - reply.elapsedTime + ms;
}

/** Aborts when the client goes away before its answer is sent (its queued work is then dropped). */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
