// Export of the filtered request list as CSV or JSON, built in the browser from the summaries.
import { getJSON } from './api.js';
import { download } from './dom.js';
import { cacheShare, tokensIn } from './format.js';

const FIELDS = [
  ['requestId', (r) => r.requestId], ['timestamp', (r) => r.timestamp], ['method', (r) => r.method],
  ['endpoint', (r) => r.endpoint], ['model', (r) => r.model], ['originalModel', (r) => r.originalModel],
  ['routedModel', (r) => r.routedModel], ['provider', (r) => r.provider], ['statusCode', (r) => r.statusCode],
  ['outcome', (r) => r.outcome], ['inputTokens', (r) => r.usage?.input_tokens],
  ['outputTokens', (r) => r.usage?.output_tokens], ['cacheReadTokens', (r) => r.usage?.cache_read_input_tokens],
  ['cacheCreationTokens', (r) => r.usage?.cache_creation_input_tokens], ['tokensIn', (r) => tokensIn(r.usage)],
  ['cacheHitShare', (r) => cacheShare(r.usage)], ['responseTimeMs', (r) => r.responseTime],
  ['timeToFirstByteMs', (r) => r.timeToFirstByte], ['stopReason', (r) => r.stopReason],
  ['organizationId', (r) => r.organizationId], ['sessionId', (r) => r.sessionId],
  ['costUsd', (r) => r.cost?.total], ['costPriced', (r) => r.cost?.priced],
  ['costEstimated', (r) => (r.cost ? r.cost.estimatedRequests > 0 : null)],
];

function csvCell(value) {
  if (value == null) return '';
  let text = String(value);
  // A cell starting with = + - @ is a formula to a spreadsheet: logged text must stay text.
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The summaries as CSV text (a header line, then one line per request). */
export function toCSV(rows) {
  const lines = [FIELDS.map(([name]) => name).join(',')];
  for (const row of rows) lines.push(FIELDS.map(([, get]) => csvCell(get(row))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Fetch every request matching `filters` (up to the API's 10,000) and download it as `format`. */
export async function exportRequests(filters, format, name) {
  const body = await getJSON('/api/requests/summary', { ...filters, offset: 0, limit: 0 });
  if (format === 'csv') download(`${name}.csv`, toCSV(body.requests), 'text/csv');
  else download(`${name}.json`, JSON.stringify(body.requests, null, 2), 'application/json');
  return body.requests.length;
}
