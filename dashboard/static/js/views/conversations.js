// Conversations view: projects, then a project's sessions, then a session's thread, whose turns
// link to the requests the proxy recorded for them.
import { getJSON } from '../api.js';
import { append, card, empty, h } from '../dom.js';
import { addCosts, costNote, dateTime, duration, money, num, usd } from '../format.js';
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
    conversations.push(...body.conversations);
    if (!body.hasMore) break;
  }
  return conversations;
}

// A session's project: its transcript folder, else (a session only the proxy saw) its working directory.
function projectOf(c) {
  return c.project || c.projectPath || '';
}

function projects(root, conversations) {
  const byProject = new Map();
  for (const c of conversations) {
    const key = projectOf(c);
    const entry = byProject.get(key) || { key, name: c.projectName || key || '(no project)', path: c.projectPath, sessions: 0, requests: 0, costs: [], last: '' };
    entry.sessions += 1;
    entry.costs.push(c.cost);
    entry.requests += c.requestCount || 0;
    if ((c.lastActivity || '') > entry.last) entry.last = c.lastActivity;
    byProject.set(key, entry);
  }
  const list = [...byProject.values()].sort((a, b) => (b.last || '').localeCompare(a.last || ''));
  append(root, h('div', { class: 'heading' }, h('h1', null, 'Conversations'), h('span', { class: 'muted' }, `${num(list.length)} projects · ${num(conversations.length)} sessions`)),
    list.length ? h('div', { class: 'table-box' }, h('table', { class: 'data' },
      h('thead', null, h('tr', null, ['Project', 'Sessions', 'Requests', 'Cost', 'Last activity'].map((c, i) => h('th', { class: i ? 'num' : null }, c)))),
      h('tbody', null, list.map((p) => {
        const cost = addCosts(p.costs);
        return h('tr', { dataset: { project: p.key } },
          h('td', null, h('a', { href: link({ project: p.key }) }, p.name), h('div', { class: 'muted small' }, p.path || p.key)),
          h('td', { class: 'num' }, num(p.sessions)), h('td', { class: 'num' }, num(p.requests)),
          h('td', { class: 'num cost', title: costNote(cost) }, money(cost)), h('td', { class: 'num' }, dateTime(p.last)));
      }))))
      : empty('No conversations yet: Claude Code transcripts (CLAUDE_PROJECTS_DIR) and sessions the proxy recorded appear here.'));
}

function sessions(root, project, body) {
  const list = body.conversations;
  append(root, h('div', { class: 'heading' }, h('a', { class: 'back', href: '#/conversations' }, '← Projects'),
    h('h1', null, body.projectName || project), h('span', { class: 'muted' }, body.projectPath || project)),
  list.length ? h('div', { class: 'session-list' }, list.map((c) => h('a', { class: 'session card', href: link({ project, session: c.id }), dataset: { session: c.id } },
    h('div', { class: 'session-first' }, (c.title || c.firstMessage || '(no prompt)').slice(0, 400)),
    h('div', { class: 'muted small num' }, `${dateTime(c.startTime)} · ${duration(c.duration)} · ${num(c.requestCount)} requests${c.model ? ` · ${c.model}` : ''}${c.subagentCount ? ` · ${c.subagentCount} subagents` : ''}`,
      c.cost ? h('span', { class: 'cost', title: costNote(c.cost) }, ` · ${money(c.cost)}`) : null))))
    : empty('No sessions in this project.'));
}

function turn(entry) {
  const meta = h('span', { class: 'turn-meta' },
    entry.model ? h('span', { class: 'muted small' }, entry.model) : null,
    entry.timestamp ? h('span', { class: 'muted small num' }, dateTime(entry.timestamp)) : null,
    entry.requestId ? h('a', { class: 'chip', href: `#/requests/${entry.requestId}`, title: 'the request the proxy recorded for this turn' }, 'request ↗') : null);
  const role = entry.role || entry.type || 'unknown';
  const content = entry.content ?? (entry.data != null ? JSON.stringify(entry.data) : '');
  const drawn = message({ role, content }, meta);
  drawn.dataset.uuid = entry.uuid || '';
  if (entry.requestId) drawn.dataset.request = entry.requestId;
  const nested = (entry.subagents || []).map(subagent);
  // Meta lines (command caveats and the like) are not part of the dialogue: folded.
  const shown = entry.isMeta ? h('details', { class: 'reminder' }, h('summary', null, `${role} (meta)`), drawn) : drawn;
  return nested.length ? [shown, ...nested] : shown;
}

function subagent(sub) {
  return h('details', { class: 'subagent' }, h('summary', null, `subagent ${sub.agentId || ''} · ${num(sub.messages.length)} messages · ${num(sub.requestCount)} requests${sub.cost ? ` · ${money(sub.cost)}` : ''}`),
    h('div', { class: 'thread' }, sub.messages.map(turn)));
}

function thread(root, project, id, conversation) {
  const entries = conversation.messages || [];
  const records = conversation.records || [];
  append(root, h('div', { class: 'heading' }, h('a', { class: 'back', href: link({ project }) }, '← Sessions'),
    h('h1', null, conversation.title || `Session ${id.slice(0, 8)}`), h('span', { class: 'muted' }, `${conversation.projectPath || project} · ${dateTime(conversation.startTime)}`)),
  conversation.cost ? card('Cost', h('p', { class: 'session-cost', title: costNote(conversation.cost) },
    `${money(conversation.cost)} in all · main thread ${money(conversation.threadCost)} · subagents ${usd(conversation.cost.total - conversation.threadCost.total)}`)) : null,
  (conversation.cacheBreaks || []).length ? card(`Cache breaks (${conversation.cacheBreaks.length})`, h('ul', { class: 'cache-breaks' },
    conversation.cacheBreaks.map((b) => h('li', null, h('a', { href: `#/requests/${b.requestId}` }, dateTime(b.timestamp)),
      ` · ${b.cause.replace(/_/g, ' ')} · ${num(b.lostTokens)} tokens re-written · ${b.cost == null ? 'unpriced' : usd(b.cost)}`)))) : null,
  records.length ? card(`Recorded requests (${records.length})`, h('div', { class: 'chips' }, records.map((r) => h('a', { class: 'chip', href: `#/requests/${r.requestId}`, title: r.model || '' }, `${r.model || 'request'} · ${dateTime(r.timestamp)}`)))) : null,
  card(`Thread (${num(entries.length)} turns)`, entries.length ? h('div', { class: 'thread' }, entries.map(turn)) : empty('This session has no messages.')));
}

/** Draw projects, a project's sessions (`project`) or one session's thread (`project` and `session`). */
export async function mount(root, query) {
  const project = query.get('project');
  const session = query.get('session');
  if (project && session) {
    thread(root, project, session, await getJSON(`/api/conversations/${encodeURIComponent(session)}`, { project }));
  } else if (project) {
    sessions(root, project, await getJSON('/api/conversations/project', { project }));
  } else {
    projects(root, await allConversations());
  }
  return null;
}
