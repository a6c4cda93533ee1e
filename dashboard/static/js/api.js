// The one way views talk to /api: JSON in, JSON out, the ErrorResponse turned into an ApiError.

/** The browser's IANA time zone, sent as `tz` so days and hours are the user's own. */
export const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** An ErrorResponse {error, details} (or a network failure) as an exception. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.details = (body && body.details) || '';
  }
}

/** `path` with the non-empty `params` as its query string. */
export function withQuery(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value != null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function parse(response) {
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** GET a JSON resource. */
export async function getJSON(path, params) {
  let response;
  try {
    response = await fetch(withQuery(path, params), { headers: { Accept: 'application/json' } });
  } catch (err) {
    throw new ApiError(0, { error: 'The proxy cannot be reached', details: String(err.message || err) });
  }
  return parse(response);
}

/** PUT a JSON body; resolves to the answer, rejects with the API's validation error. */
export async function putJSON(path, body) {
  const response = await fetch(path, {
    method: 'PUT', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
  });
  return parse(response);
}
