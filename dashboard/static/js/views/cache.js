// Cache view: prompt-cache hit rate, what writes cost and reads saved (per model, day and session),
// and the cache breaks of the week with their probable cause and cost.
import { getJSON, TZ } from '../api.js';
import { append, card, empty, h } from '../dom.js';
import { addDays, compact, dateTime, localDay, num, percent, usd } from '../format.js';

const CAUSES = {
  model_or_provider_switched: 'model or provider switched',
  idle_gap_5m: 'idle longer than the 5-minute cache',
  idle_gap_1h: 'idle longer than the 1-hour cache',
  system_changed: 'system prompt changed',
  tools_changed: 'tools changed',
  unknown: 'unknown',
};

function healthTable(label, rows, key) {
  return h('table', { class: 'data cache-health' },
    h('thead', null, h('tr', null, [label, 'Requests', 'Hit rate', 'Cache read', 'Writes 5m / 1h', 'Write cost', 'Saved'].map((c, i) => h('th', { class: i ? 'num' : null }, c)))),
    h('tbody', null, rows.map((row) => h('tr', null,
      h('td', { title: row[key] }, key === 'sessionId' ? row[key].slice(0, 8) : row[key]),
      h('td', { class: 'num' }, num(row.requests)), h('td', { class: 'num' }, percent(row.hitRate, 1)),
      h('td', { class: 'num' }, compact(row.cacheReadTokens)),
      h('td', { class: 'num' }, `${compact(row.cacheWrite5mTokens)} / ${compact(row.cacheWrite1hTokens)}`),
      h('td', { class: 'num', title: row.estimatedRequests ? 'some writes had no recorded split: priced as 5-minute writes' : null },
        `${row.estimatedRequests ? '≈' : ''}${usd(row.writeCost)}${row.priced ? '' : ' + unpriced'}`),
      h('td', { class: 'num' }, usd(row.savings))))));
}

function breaksTable(breaks) {
  return h('table', { class: 'data cache-breaks' },
    h('thead', null, h('tr', null, ['When', 'Session', 'Model', 'Probable cause', 'Gap', 'Prefix lost', 'Cost'].map((c, i) => h('th', { class: i > 3 ? 'num' : null }, c)))),
    h('tbody', null, breaks.map((b) => h('tr', { dataset: { cause: b.cause } },
      h('td', null, h('a', { href: `#/requests/${b.requestId}` }, dateTime(b.timestamp))),
      h('td', { title: b.sessionId }, `${b.sessionId.slice(0, 8)}${b.agentId ? ` · ${b.agentId}` : ''}`),
      h('td', null, b.servedModel || b.model || '–'),
      h('td', null, CAUSES[b.cause] || b.cause),
      h('td', { class: 'num' }, `${Math.round(b.gapSeconds / 60)} min`),
      h('td', { class: 'num' }, compact(b.lostTokens)),
      h('td', { class: 'num' }, b.cost == null ? 'unpriced' : usd(b.cost))))));
}

/** Draw the 7 days to today: health per model, day and session, then the breaks. */
export async function mount(root, query) {
  const day = query.get('day') || localDay();
  const body = await getJSON('/api/cache', { start: addDays(day, -6), end: addDays(day, 1), tz: TZ });
  append(root, h('div', { class: 'heading' }, h('h1', null, 'Cache'),
    h('span', { class: 'muted' }, 'Prompt-cache health of the last 7 days')));
  if (!body.byModel.length) {
    append(root, empty('No requests in the last 7 days.'));
    return null;
  }
  const listed = body.breaks.length < body.breakCount ? `; the newest ${num(body.breaks.length)} listed` : '';
  append(root,
    card('By model', healthTable('Model', body.byModel, 'model')),
    card(`Cache breaks (${num(body.breakCount)}, ${usd(body.breaksCost)} re-written${listed}${body.breaksCut ? '; only the newest 50,000 requests examined' : ''})`,
      body.breaks.length ? breaksTable(body.breaks) : empty('No cache break: every warm prefix was read again.')),
    card('By day', healthTable('Day', body.byDay.filter((d) => d.requests), 'date')),
    card('Sessions that wrote the most', healthTable('Session', body.bySession.slice(0, 20), 'sessionId')));
  return null;
}
