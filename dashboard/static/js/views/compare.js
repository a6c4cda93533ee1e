// Compare two requests: system blocks, tools and messages side by side, differences marked.
import { getJSON } from '../api.js';
import { append, card, empty, h } from '../dom.js';
import { dateTime } from '../format.js';
import { alignLists } from '../diff.js';
import { selection } from '../selection.js';
import { message, pretty, systemBlocks, toolList } from './thread.js';

const LABEL = { same: 'same', added: 'only in B', removed: 'only in A', changed: 'differs' };

function section(title, left, right, draw, key) {
  const pairs = alignLists(left, right, key);
  const differing = pairs.filter(([, , kind]) => kind !== 'same').length;
  const rows = pairs.map(([a, b, kind]) => h('div', { class: `diff-row ${kind}` },
    h('div', { class: 'diff-cell' }, a == null ? null : draw(a)),
    h('div', { class: 'diff-mark', title: LABEL[kind] }, LABEL[kind]),
    h('div', { class: 'diff-cell' }, b == null ? null : draw(b))));
  return card(`${title}: ${differing ? `${differing} difference${differing === 1 ? '' : 's'}` : 'identical'}`,
    rows.length ? h('div', { class: 'diff' }, rows) : empty('None on either side.'));
}

function parts(record) {
  const body = record.body && typeof record.body === 'object' ? record.body : {};
  const system = typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : body.system || [];
  return { system, tools: body.tools || [], messages: body.messages || [] };
}

/** Draw requests `a` and `b` of the query side by side. */
export async function mount(root, query) {
  const ids = [query.get('a'), query.get('b')];
  if (!ids[0] || !ids[1]) {
    append(root, h('h1', null, 'Compare'), empty('Tick two requests in the list (or on their detail pages), then press Compare.'));
    return null;
  }
  const [left, right] = await Promise.all(ids.map((id) => getJSON(`/api/requests/${id}`).then((r) => r.request)));
  const a = parts(left), b = parts(right);
  const head = (label, record) => h('div', { class: 'diff-cell head' }, h('strong', null, `${label}: `),
    h('a', { href: `#/requests/${record.requestId}` }, record.model || record.requestId), h('div', { class: 'muted' }, dateTime(record.timestamp)));
  append(root, 
    h('div', { class: 'heading' }, h('h1', null, 'Compare'),
      h('button', { type: 'button', class: 'button', onclick: () => { selection.ids.slice().forEach((id) => selection.toggle(id, false)); location.hash = '#/requests'; } }, 'Clear selection')),
    h('div', { class: 'diff-row heads' }, head('A', left), h('div', { class: 'diff-mark' }), head('B', right)),
    section('System', a.system, b.system, (block) => systemBlocks([block]), (block) => block.text || ''),
    section('Tools', a.tools, b.tools, (tool) => toolList([tool]), (tool) => pretty(tool)),
    section('Messages', a.messages, b.messages, (msg) => message(msg), (msg) => pretty(msg)));
  return null;
}
