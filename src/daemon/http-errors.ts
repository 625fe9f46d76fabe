import type { FastifyReply } from 'fastify';
import { httpStatusFor, isLifeboatError } from '../errors/index.js';
import type { ApiErrorCode, ErrorAnswer } from './api-types.js';

export type { ApiErrorCode } from './api-types.js';

/**
 * Every API error is `{ "error": { "code", "message" } }` with a stable code:
 * unauthorized, not_found, conflict, bad_request, payload_too_large,
 * too_many_requests, internal.
 */
export function sendError(reply: FastifyReply, status: number, code: ApiErrorCode, message: string): FastifyReply {
  const body: ErrorAnswer = { error: { code, message } };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

export function codeForStatus(status: number): ApiErrorCode {
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'too_many_requests';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'internal';
}

/**
 * A lower layer's error the client can act on (`httpStatusFor` gives a 4xx)
 * answered with that status and its message; anything else is rethrown for
 * the error handler.
 */
export function sendClientError(reply: FastifyReply, err: unknown): FastifyReply {
  const status = isLifeboatError(err) ? httpStatusFor(err.code) : 500;
  if (status >= 500) throw err;
  return sendError(reply, status, codeForStatus(status), (err as Error).message);
}
