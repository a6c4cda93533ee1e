// Conversations view: projects, then a project's sessions, then a session's thread, whose turns
// link to the requests the proxy recorded for them.
import { getJSON } from '../api.js';
import { append, card, empty, h } from '../dom.js';
import { dateTime, duration, num } from '../format.js';
import { message } from './thread.js';

const PAGE = 100;
const MAX_PAGES = 20;

function link(params) {
  return `#/conversations?${new URLSearchParams(Object.entries(params).filter(([, v]) => v))}`;
}

async function allConversations() {
  const conversations = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const body = await getJSON('/api/conversations', { page, limit: PAGE });
    conversations.push(...(body.conversations || []));
    if (!body.hasMore) break;
  }
  return conversations;
}

function projects(root, conversations) {
  const byProject = new Map();
  for (const c of conversations) {
    const key = c.projectPath || '';
    const entry = byProject.get(key) || { path: key, name: c.projectName || key || '(no project)', sessions: 0, requests: 0, last: '' };
    entry.sessions += 1;
    entry.requests += c.requestCount || 0;
    if ((c.lastActivity || '') > entry.last) entry.last = c.lastActivity;
    byProject.set(key, entry);
  }
  const list = [...byProject.values()].sort((a, b) => (b.last || '').localeCompare(a.last || ''));
  append(root, h('div', { class: 'heading' }, h('h1', null, 'Conversations'), h('span', { class: 'muted' }, `${num(list.length)} projects`)),
    list.length ? h('table', { class: 'data' },
      h('thead', null, h('tr', null, ['Project', 'Sessions', 'Requests', 'Last activity'].map((c, i) => h('th', { class: i && i < 3 ? 'num' : null }, c)))),
      h('tbody', null, list.map((p) => h('tr', null,
        h('td', null, h('a', { href: link({ project: p.path }) }, p.name), h('div', { class: 'muted small' }, p.path)),
        h('td', { class: 'num' }, num(p.sessions)), h('td', { class: 'num' }, num(p.requests)), h('td', null, dateTime(p.last))))))
      : empty('No conversations yet: Claude Code transcripts and recorded sessions appear here.'));
}

function sessions(root, project, conversations) {
  const name = (conversations[0] && conversations[0].projectName) || project;
  append(root, h('div', { class: 'heading' }, h('a', { class: 'back', href: '#/conversations' }, '← Projects'), h('h1', null, name), h('span', { class: 'muted' }, project)),
    conversations.length ? h('div', { class: 'session-list' }, conversations.map((c) => h('a', { class: 'session card', href: link({ project, session: c.id }) },
      h('div', { class: 'session-first' }, (c.firstMessage || '(no prompt)').slice(0, 300)),
      h('div', { class: 'muted small num' }, `${dateTime(c.startTime)} · ${duration(c.duration)} · ${num(c.requestCount)} requests${c.model ? ` · ${c.model}` : ''}`))))
      : empty('No sessions in this project.'));
}

// The thread's turns, whatever their wrapping: transcript lines ({type, message, uuid}) or bare messages.
function turns(conversation) {
  const items = conversation.messages || conversation.thread || conversation.turns || [];
  return items.map((item) => {
    const msg = item.message && typeof item.message === 'object' ? item.message : item;
    const role = msg.role || item.type || 'unknown';
    const content = msg.content ?? item.content ?? item.text ?? '';
    return { item, role, content, requestIds: item.requestIds || (item.recordId ? [item.recordId] : item.proxyRequestId ? [item.proxyRequestId] : []) };
  });
}

function thread(root, project, id, conversation) {
  const list = turns(conversation);
  const records = conversation.requestIds || conversation.recordIds || [];
  append(root, h('div', { class: 'heading' }, h('a', { class: 'back', href: link({ project }) }, '← Sessions'), h('h1', null, `Session ${id.slice(0, 8)}`),
    h('span', { class: 'muted' }, project)),
  records.length ? card(`Recorded requests (${records.length})`, h('div', { class: 'chips' }, records.map((r) => h('a', { class: 'chip', href: `#/requests/${r}` }, r.slice(-8))))) : null,
  card(`Thread (${list.length} turns)`, list.length ? h('div', { class: 'thread' }, list.map((t) => message({ role: t.role, content: t.content },
    h('span', { class: 'turn-meta' }, t.item.timestamp ? h('span', { class: 'muted' }, ` ${dateTime(t.item.timestamp)}`) : null,
      t.requestIds.map((r) => h('a', { class: 'chip', href: `#/requests/${r}`, title: 'the request the proxy recorded' }, 'request ↗'))))))
    : empty('This session has no messages.')));
}

/** Draw projects, a project's sessions (`project`) or one session's thread (`project` and `session`). */
export async function mount(root, query) {
  const project = query.get('project');
  const session = query.get('session');
  if (project && session) {
    thread(root, project, session, await getJSON(`/api/conversations/${encodeURIComponent(session)}`, { project }));
  } else if (project) {
    const body = await getJSON('/api/conversations/project', { project });
    sessions(root, project, Array.isArray(body) ? body : body.conversations || []);
  } else {
    projects(root, await allConversations());
  }
  return null;
}
