// Request detail: overview, routing, usage, rate limits, headers, system, tools, thread, response, raw JSON.
import { getJSON } from '../api.js';
import { append, card, download, empty, h } from '../dom.js';
import { openDialog } from '../dialog.js';
import { costNote, countdown, dateTime, duration, money, num, percent, resetMs, tokensIn, usd } from '../format.js';
import { selection } from '../selection.js';
import { message, pretty, systemBlocks, toolList } from './thread.js';

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v != null && v !== '').map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function usageCards(usage = {}) {
  const total = tokensIn(usage) + (usage.output_tokens || 0);
  const items = [['Input', usage.input_tokens], ['Output', usage.output_tokens], ['Cache read', usage.cache_read_input_tokens],
    ['Cache write', usage.cache_creation_input_tokens], ['Total', total]];
  return h('div', { class: 'stat-cards' }, items.map(([label, value]) => h('div', { class: 'stat' }, h('span', { class: 'label' }, label), h('span', { class: 'value num' }, num(value || 0)))));
}

function costCards(cost) {
  if (!cost) return empty('No cost.');
  const items = [['Total', money(cost)], ['Input', usd(cost.input)], ['Output', usd(cost.output)], ['Cache read', usd(cost.cacheRead)],
    ['5-min writes', usd(cost.cacheWrite5m)], ['1-hour writes', usd(cost.cacheWrite1h)], ['Web search', usd(cost.webSearch)]];
  return [h('div', { class: 'stat-cards cost' }, items.map(([label, value]) => h('div', { class: 'stat' }, h('span', { class: 'label' }, label), h('span', { class: 'value num' }, value)))),
    h('p', { class: 'muted small cost-note' }, costNote(cost))];
}

function rateLimits(limit = {}) {
  const resetCell = (value) => {
    const ms = resetMs(value);
    if (!ms) return value;
    return `${new Date(ms).toLocaleString()} (${ms > Date.now() ? `in ${countdown(ms)}` : 'passed'})`;
  };
  const rows = [
    ['Organization', limit.organizationId], ['Unified status', limit.unifiedStatus],
    ['5-hour utilisation', limit.unifiedUtilization5h != null ? percent(limit.unifiedUtilization5h, 1) : null],
    ['5-hour reset', resetCell(limit.unifiedReset5h)],
    ['7-day utilisation', limit.unifiedUtilization7d != null ? percent(limit.unifiedUtilization7d, 1) : null],
    ['7-day reset', resetCell(limit.unifiedReset7d)],
    ['Requests', limit.requestsLimit != null ? `${num(limit.requestsRemaining)} of ${num(limit.requestsLimit)} left` : null],
    ['Requests reset', limit.requestsReset],
    ['Tokens', limit.tokensLimit != null ? `${num(limit.tokensRemaining)} of ${num(limit.tokensLimit)} left` : null],
    ['Tokens reset', limit.tokensReset],
  ];
  return rows.some(([, v]) => v != null) ? facts(rows) : h('p', { class: 'muted' }, 'No rate-limit headers on this response.');
}

function headerTable(headers) {
  const entries = Object.entries(headers || {});
  if (!entries.length) return h('p', { class: 'muted' }, 'none recorded');
  return h('table', { class: 'kv' }, h('tbody', null, entries.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, Array.isArray(v) ? v.join('\n') : String(v))))));
}

function responseContent(response) {
  const msg = response.message || (response.body && typeof response.body === 'object' ? response.body : null);
  if (msg && Array.isArray(msg.content)) return message({ role: msg.role || 'assistant', content: msg.content }, msg.stop_reason ? h('span', { class: 'muted' }, ` stop: ${msg.stop_reason}`) : null);
  if (msg && msg.error) return h('div', { class: 'block tool-result error' }, h('pre', null, pretty(msg)));
  if (response.body != null && response.body !== '') return h('pre', { class: 'raw' }, pretty(response.body));
  return h('p', { class: 'muted' }, response.outcome === 'in_flight' ? 'Still running…' : 'No response body recorded.');
}

// What body capture kept: left out by the setting, or cut at its size limit (null: stored whole).
function bodyNote(record, response) {
  if (record.bodiesOmitted) return `not stored (${record.bodiesOmitted})`;
  const cut = [record.requestBodyTruncated && 'request', response.bodyTruncated && 'response'].filter(Boolean);
  return cut.length ? `${cut.join(' and ')} cut at the capture size limit` : null;
}

function rawDialog(record) {
  const text = JSON.stringify(record, null, 2);
  const status = h('span', { class: 'muted', role: 'status' });
  const copy = h('button', { type: 'button', class: 'button', onclick: async () => {
    try { await navigator.clipboard.writeText(text); status.textContent = 'Copied.'; } catch { status.textContent = 'The browser refused the clipboard.'; }
  } }, 'Copy');
  const save = h('button', { type: 'button', class: 'button', onclick: () => download(`request-${record.requestId}.json`, text, 'application/json') }, 'Download');
  openDialog('Raw JSON', h('pre', { class: 'raw' }, text), [status, copy, save]);
}

/** Draw one request, by the id in the route. */
export async function mount(root, query, match) {
  const { request: record } = await getJSON(`/api/requests/${match[1]}`);
  const response = record.response || {};
  const body = record.body && typeof record.body === 'object' ? record.body : {};
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const compareBox = h('input', { type: 'checkbox', checked: selection.has(record.requestId), onchange: (e) => selection.toggle(record.requestId, e.target.checked) });
  const routed = record.routedModel && record.originalModel && record.routedModel !== record.originalModel;

  append(root, 
    h('div', { class: 'heading' },
      h('a', { class: 'back', href: '#/requests' }, '← Requests'),
      h('h1', null, record.model || record.endpoint), h('span', { class: 'muted' }, dateTime(record.timestamp)),
      h('div', { class: 'actions' },
        h('label', { class: 'check-label' }, compareBox, ' compare'),
        h('button', { type: 'button', class: 'button', onclick: () => rawDialog(record) }, 'Raw JSON'))),
    response.streamError ? h('div', { class: 'alert', role: 'alert' }, h('strong', null, 'Stream error: '), response.streamError) : null,
    h('div', { class: 'grid two' },
      card('Overview', facts([
        ['Request', `${record.method} ${record.endpoint}${record.query ? `?${record.query}` : ''}`],
        ['Status', `${response.statusCode ?? '–'} · ${(response.outcome || '').replace(/_/g, ' ')}`],
        ['Duration', duration(response.responseTime)], ['Time to first byte', duration(response.timeToFirstByte)],
        ['Streaming', response.isStreaming ? 'yes' : 'no'], ['Stop reason', response.stopReason],
        ['Messages', record.messageCount], ['Session', record.sessionId], ['Agent', record.agentId],
        ['Organization', record.organizationId], ['API key', record.apiKeyFingerprint], ['User agent', record.userAgent],
        ['Upstream request', response.upstreamRequestId], ['Request id', record.requestId],
        ['Bytes', `${num(record.requestBytes)} sent · ${num(response.bytes)} received`],
        ['Bodies', bodyNote(record, response)],
      ])),
      card('Routing', facts([
        ['Requested model', record.originalModel], ['Routed model', routed ? record.routedModel : `${record.routedModel || '–'} (unchanged)`],
        ['Provider', record.provider || 'anthropic'], ['Rule', record.routingRule || 'none'],
      ]))),
    card('Usage', usageCards(response.usage)),
    card('Cost', costCards(record.cost)),
    card('Rate limits', rateLimits(response.rateLimit)),
    h('div', { class: 'grid two' },
      card('Request headers', headerTable(record.headers)), card('Response headers', headerTable(response.headers))),
    body.system ? card(`System (${Array.isArray(body.system) ? body.system.length : 1})`, systemBlocks(body.system)) : null,
    body.tools ? card(`Tools (${body.tools.length})`, toolList(body.tools)) : null,
    card(`Messages (${messages.length})`, messages.length ? h('div', { class: 'thread' }, messages.map((m) => message(m))) : empty('No messages in this request body.')),
    card('Response', responseContent(response)),
    typeof record.body === 'string' && record.body ? card('Request body', h('pre', { class: 'raw' }, record.body)) : null,
  );
  return null;
}
