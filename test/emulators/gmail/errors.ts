// Google's JSON error format (https://cloud.google.com/apis/design/errors, the v1 "errors"
// array that the Gmail API still sends next to the canonical status).

export interface GoogleErrorBody {
  error: {
    code: number;
    message: string;
    errors: { message: string; domain: string; reason: string; location?: string; locationType?: string }[];
    status: string;
  };
}

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
};

export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
    readonly domain = 'global',
    readonly extraHeaders: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): GoogleErrorBody {
    const detail: GoogleErrorBody['error']['errors'][number] = { message: this.message, domain: this.domain, reason: this.reason };
    if (this.code === 401) Object.assign(detail, { location: 'Authorization', locationType: 'header' });
    return { error: { code: this.code, message: this.message, errors: [detail], status: STATUS[this.code] ?? 'UNKNOWN' } };
  }
}

export const badRequest = (message: string, reason = 'invalidArgument'): ApiError => new ApiError(400, message, reason);
export const notFound = (message = 'Requested entity was not found.'): ApiError => new ApiError(404, message, 'notFound');
export const conflict = (message: string): ApiError => new ApiError(409, message, 'duplicate');
export const forbidden = (message: string): ApiError => new ApiError(403, message, 'forbidden');
export const backendError = (): ApiError => new ApiError(500, 'Backend Error', 'backendError');

/** Checks that a body is a well-formed Google error (tests and the server's own checks). */
export function googleErrorShapeErrors(body: unknown): string[] {
  const errs: string[] = [];
  const e = (body as { error?: unknown })?.error as Record<string, unknown> | undefined;
  if (!e || typeof e !== 'object') return ['no "error" object'];
  if (typeof e.code !== 'number') errs.push('error.code is not a number');
  if (typeof e.message !== 'string') errs.push('error.message is not a string');
  if (typeof e.status !== 'string') errs.push('error.status is not a string');
  if (!Array.isArray(e.errors) || e.errors.length === 0) errs.push('error.errors is not a non-empty array');
  else {
    for (const d of e.errors as Record<string, unknown>[]) {
      if (typeof d.reason !== 'string' || typeof d.domain !== 'string' || typeof d.message !== 'string') errs.push('error.errors[] lacks reason/domain/message');
    }
  }
  for (const k of Object.keys(e)) if (!['code', 'message', 'errors', 'status', 'details'].includes(k)) errs.push(`unknown field error.${k}`);
  return errs;
}
