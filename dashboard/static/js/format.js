// Numbers, durations, dates and token arithmetic as the views show them (the browser's locale and zone).

const integer = new Intl.NumberFormat();
const compactFormat = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** A whole number with grouping, or an en dash when absent. */
export function num(value) {
  return value == null ? '–' : integer.format(value);
}

/** A large number made short (12.3K). */
export function compact(value) {
  return value == null ? '–' : compactFormat.format(value);
}

/** Milliseconds as "850 ms", "12.3 s" or "4m 05s". */
export function duration(ms) {
  if (ms == null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** A 0..1 share as a percentage. */
export function percent(share, digits = 0) {
  return share == null || Number.isNaN(share) ? '–' : `${(share * 100).toFixed(digits)}%`;
}

/** The local time of day of an ISO instant (HH:MM:SS). */
export function timeOfDay(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }) : '–';
}

/** The local date and time of an ISO instant. */
export function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' }) : '–';
}

/** The local calendar day (YYYY-MM-DD) of a Date. */
export function localDay(date = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The day `count` days after `day` (YYYY-MM-DD, calendar arithmetic, safe across DST). */
export function addDays(day, count) {
  const [y, m, d] = day.split('-').map(Number);
  return localDay(new Date(y, m - 1, d + count));
}

/** A day as the user reads it ("Tue 18 Nov 2026"). */
export function dayLabel(day) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d).toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
}

/** A day without its year ("Tue, Nov 18"), for chart labels. */
export function shortDay(day) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d).toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' });
}

/** A rate-limit reset as epoch ms: Anthropic sends epoch seconds for unified windows, ISO 8601 for others. */
export function resetMs(value) {
  if (value == null || value === '') return null;
  if (/^\d+(\.\d+)?$/.test(String(value))) return Number(value) * 1000;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

/** Time left until `targetMs` ("2h 13m", "4m 05s", "now"). */
export function countdown(targetMs, nowMs = Date.now()) {
  if (targetMs == null) return '–';
  const left = Math.max(0, Math.round((targetMs - nowMs) / 1000));
  if (left === 0) return 'now';
  const days = Math.floor(left / 86400), hours = Math.floor((left % 86400) / 3600);
  const minutes = Math.floor((left % 3600) / 60), seconds = left % 60;
  if (days) return `${days}d ${hours}h`;
  if (hours) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
}

/** Every token the model read: fresh input plus cache reads and cache writes. */
export function tokensIn(usage) {
  if (!usage) return 0;
  return (usage.input_tokens || 0) + (usage.cache_read_input_tokens || 0) + (usage.cache_creation_input_tokens || 0);
}

/** The share of the input served from the prompt cache (null when there was no input). */
export function cacheShare(usage) {
  const total = tokensIn(usage);
  return total ? (usage.cache_read_input_tokens || 0) / total : null;
}

/** True when routing sent the request to another model than the client asked for. */
export function wasRouted(row) {
  return Boolean(row.routedModel && row.originalModel && row.routedModel !== row.originalModel);
}

/** The model family a name belongs to (opus, sonnet, haiku) or "other". */
export function family(model) {
  const match = /(opus|sonnet|haiku)/i.exec(model || '');
  return match ? match[1].toLowerCase() : 'other';
}

const dollars = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const cents = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 4, maximumFractionDigits: 4 });

/** US dollars: cents for a dollar or more, four decimals below (a request costs fractions of a cent). */
export function usd(amount) {
  if (amount == null) return '–';
  return Math.abs(amount) >= 1 || amount === 0 ? dollars.format(amount) : cents.format(amount);
}

/** A CostBreakdown as text that says what it leaves out: "$1.23", "≈$1.23" (estimated writes), "$1.23 + unpriced". */
export function money(cost) {
  if (!cost) return '–';
  if (!cost.priced && cost.total === 0) return 'unpriced';
  return `${cost.estimatedRequests ? '≈' : ''}${usd(cost.total)}${cost.priced ? '' : ' + unpriced'}`;
}

/** CostBreakdowns added up into one with the fields money() and costNote() read (nulls skipped). */
export function addCosts(costs) {
  const sum = { total: 0, priced: true, estimatedRequests: 0, unpricedTokens: 0, unpricedModels: [], longContextRequests: 0 };
  for (const cost of costs) {
    if (!cost) continue;
    sum.total += cost.total;
    sum.priced = sum.priced && cost.priced;
    sum.estimatedRequests += cost.estimatedRequests || 0;
    sum.unpricedTokens += cost.unpricedTokens || 0;
    sum.longContextRequests += cost.longContextRequests || 0;
    for (const model of cost.unpricedModels || []) if (!sum.unpricedModels.includes(model)) sum.unpricedModels.push(model);
  }
  return sum;
}

/** The note a cost's tooltip gives: what is estimated or unpriced in it. */
export function costNote(cost) {
  if (!cost) return '';
  const notes = [];
  if (cost.estimatedRequests) notes.push(`${cost.estimatedRequests} request(s) without a recorded 5m/1h cache-write split, priced as 5-minute writes`);
  if (!cost.priced) notes.push(`${cost.unpricedTokens} tokens of ${cost.unpricedModels.join(', ') || 'some models'} have no price`);
  if (cost.longContextRequests) notes.push(`${cost.longContextRequests} request(s) at long-context rates`);
  return notes.join('; ') || 'priced from the price book (GET /api/prices)';
}
