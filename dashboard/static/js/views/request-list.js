// The requests table: virtualised (only the rows in view exist in the DOM) and paged from the API
// (100 summaries a request), so a day of 10,000 requests renders as fast as a day of ten.
import { getJSON } from '../api.js';
import { h } from '../dom.js';
import { cacheShare, compact, costNote, duration, money, num, percent, timeOfDay, tokensIn, wasRouted } from '../format.js';

const ROW_HEIGHT = 34;
const PAGE = 100;
const OVERSCAN = 12;

export const COLUMNS = ['', 'Time', 'Model', 'Status', 'In', 'Out', 'Cache', 'Cost', 'Duration', 'TTFB', 'Stop'];

function statusBadge(row) {
  if (row.outcome === 'in_flight') return h('span', { class: 'badge live', title: 'still running' }, 'in flight');
  const code = row.statusCode;
  // A 200 whose stream broke (stream_error, upstream_dropped, ...) is a failure all the same.
  const failed = row.outcome && !['complete', 'in_flight'].includes(row.outcome);
  const kind = code == null || code >= 500 || (failed && code < 300) ? 'bad' : code < 300 ? 'ok' : 'warn';
  const label = code == null ? (row.outcome || '–').replace(/_/g, ' ') : String(code);
  const title = row.outcome && row.outcome !== 'complete' ? row.outcome.replace(/_/g, ' ') : null;
  return h('span', { class: `badge ${kind}`, title }, label);
}

function modelCell(row) {
  const routed = wasRouted(row);
  return h('span', { class: 'model', title: routed ? `requested ${row.originalModel}, routed to ${row.routedModel}` : row.model },
    routed ? h('span', { class: 'routed', 'aria-label': 'routed' }, '↪') : null,
    h('span', { class: 'name' }, row.model || row.endpoint || '–'));
}

/** A virtual list of request summaries for `filters` (start, end, tz, model, exact_model, org, status). */
export class RequestList {
  constructor({ filters, selection, onOpen, onTotal }) {
    this.filters = filters;
    this.selection = selection;
    this.onOpen = onOpen;
    this.onTotal = onTotal;
    this.pages = new Map();
    this.loading = new Map();
    this.total = null;
    this.spacer = h('div', { class: 'vspacer' });
    this.rows = h('div', { class: 'vrows', role: 'rowgroup' });
    this.scroller = h('div', { class: 'vlist', role: 'table', 'aria-label': 'Requests', tabindex: 0,
      onscroll: () => this.schedule() }, this.spacer, this.rows);
    this.header = h('div', { class: 'row head', role: 'row' }, COLUMNS.map((c) => h('span', { role: 'columnheader' }, c)));
    this.element = h('div', { class: 'table-wrap' }, this.header, this.scroller);
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this.scroller);
  }

  /** Load the first page and draw it; resolves once the first rows are on screen. */
  async start() {
    await this.load(0);
    this.draw();
  }

  /** Reload the pages in view (new requests at the top, in-flight rows that finished). */
  async refresh() {
    const wanted = this.visiblePages();
    const fresh = await Promise.all(wanted.map((page) => this.fetchPage(page)));
    this.pages.clear();
    wanted.forEach((page, i) => this.pages.set(page, fresh[i].requests));
    this.setTotal(fresh.length ? fresh[0].total : this.total);
    this.draw();
  }

  /** Stop watching the list's size and drop a pending redraw. */
  destroy() {
    this.resize.disconnect();
    cancelAnimationFrame(this.frame);
  }

  fetchPage(page) {
    return getJSON('/api/requests/summary', { ...this.filters, offset: page * PAGE, limit: PAGE });
  }

  async load(page) {
    if (this.pages.has(page)) return;
    if (!this.loading.has(page)) {
      this.loading.set(page, this.fetchPage(page).then((body) => {
        this.pages.set(page, body.requests);
        this.setTotal(body.total);
      }).finally(() => this.loading.delete(page)));
    }
    await this.loading.get(page);
  }

  setTotal(total) {
    if (total === this.total) return;
    this.total = total;
    this.spacer.style.height = `${total * ROW_HEIGHT}px`;
    // As tall as its rows, up to the window (CSS max-height): a short day leaves no blank box.
    this.scroller.style.height = `${Math.max(1, total) * ROW_HEIGHT}px`;
    this.onTotal(total);
  }

  range() {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min((this.total || 0) - 1, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    return [first, last];
  }

  visiblePages() {
    const [first, last] = this.range();
    const pages = [];
    for (let page = Math.floor(first / PAGE); page <= Math.floor(Math.max(first, last) / PAGE); page++) pages.push(page);
    return pages;
  }

  schedule() {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => {
      this.draw();
      for (const page of this.visiblePages()) {
        if (!this.pages.has(page)) this.load(page).then(() => this.draw()).catch(() => {});
      }
    });
  }

  row(index) {
    const page = this.pages.get(Math.floor(index / PAGE));
    return page ? page[index % PAGE] : undefined;
  }

  draw() {
    const [first, last] = this.range();
    const nodes = [];
    for (let index = first; index <= last; index++) {
      const row = this.row(index);
      const node = row ? this.drawRow(row) : h('div', { class: 'row placeholder', role: 'row' }, h('span', null, '…'));
      node.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      nodes.push(node);
    }
    this.rows.replaceChildren(...nodes);
  }

  drawRow(row) {
    const usage = row.usage || {};
    const checked = this.selection.has(row.requestId);
    const box = h('input', { type: 'checkbox', checked, 'aria-label': 'select for compare',
      onclick: (e) => { e.stopPropagation(); this.selection.toggle(row.requestId, e.target.checked); } });
    return h('div', {
      class: `row${row.outcome === 'in_flight' ? ' inflight' : ''}${checked ? ' selected' : ''}`, role: 'row',
      dataset: { id: row.requestId }, onclick: () => this.onOpen(row.requestId),
    },
    h('span', { class: 'check' }, box),
    h('span', { class: 'num time' }, h('a', { href: `#/requests/${row.requestId}`, onclick: (e) => e.stopPropagation() }, timeOfDay(row.timestamp))),
    modelCell(row),
    h('span', null, statusBadge(row)),
    h('span', { class: 'num', title: num(tokensIn(usage)) }, compact(tokensIn(usage))),
    h('span', { class: 'num', title: num(usage.output_tokens) }, compact(usage.output_tokens)),
    h('span', { class: 'num' }, percent(cacheShare(usage))),
    h('span', { class: 'num cost', title: costNote(row.cost) }, money(row.cost)),
    h('span', { class: 'num' }, duration(row.responseTime)),
    h('span', { class: 'num' }, duration(row.timeToFirstByte)),
    h('span', { class: 'muted stop' }, row.stopReason || ''));
  }
}
