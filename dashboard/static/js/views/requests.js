// Requests view: one local day at a time, filters, a live virtual list, export and compare.
import { getJSON, TZ } from '../api.js';
import { append, empty, errorBox, h, select } from '../dom.js';
import { addDays, dayLabel, localDay, num } from '../format.js';
import { exportRequests } from '../export.js';
import { selection } from '../selection.js';
import { RequestList } from './request-list.js';

const POLL_MS = 2000;
const FAMILIES = [['', 'All families'], ['opus', 'Opus'], ['sonnet', 'Sonnet'], ['haiku', 'Haiku']];
const STATUSES = [['', 'Any status'], ['2xx', '2xx success'], ['4xx', '4xx client error'],
  ['5xx', '5xx server error'], ['in_flight', 'In flight']];

function go(state) {
  const query = new URLSearchParams(Object.entries(state).filter(([, v]) => v));
  location.hash = `#/requests?${query}`;
}

/** Draw the view for the day and filters in the hash; returns the cleanup that stops polling. */
export async function mount(root, query) {
  const state = { day: query.get('day') || localDay(), family: query.get('family') || '',
    model: query.get('model') || '', org: query.get('org') || '', status: query.get('status') || '' };
  const filters = { start: state.day, end: addDays(state.day, 1), tz: TZ, model: state.family,
    exact_model: state.model, org: state.org, status: state.status };
  const change = (patch) => go({ ...state, ...patch });

  const count = h('span', { class: 'count num' }, '');
  const compareButton = h('button', { type: 'button', class: 'button', disabled: selection.ids.length !== 2,
    onclick: () => { location.hash = `#/compare?a=${selection.ids[0]}&b=${selection.ids[1]}`; } }, `Compare (${selection.ids.length}/2)`);
  const onSelect = (ids) => {
    compareButton.disabled = ids.length !== 2;
    compareButton.textContent = `Compare (${ids.length}/2)`;
  };
  selection.listeners.add(onSelect);
  const notice = h('div', { class: 'notice', role: 'status' });
  const exportAs = (format) => async () => {
    notice.replaceChildren('Exporting…');
    try {
      const n = await exportRequests(filters, format, `requests-${state.day}`);
      notice.replaceChildren(`Exported ${num(n)} requests as ${format.toUpperCase()}.`);
    } catch (err) { notice.replaceChildren(errorBox(err)); }
  };
  const latest = async () => {
    const { latestDate } = await getJSON('/api/requests/latest-date');
    if (latestDate) change({ day: localDay(new Date(latestDate)) });
    else notice.replaceChildren(`Nothing has been recorded yet: point Claude Code here with ANTHROPIC_BASE_URL=${location.origin}`);
  };

  const modelOptions = h('span', null);
  const orgOptions = h('span', null);
  const toolbar = h('div', { class: 'toolbar' },
    h('div', { class: 'daynav', role: 'group', 'aria-label': 'Day' },
      h('button', { type: 'button', class: 'button', title: 'Previous day', onclick: () => change({ day: addDays(state.day, -1) }) }, '‹'),
      h('input', { type: 'date', value: state.day, 'aria-label': 'Day', onchange: (e) => e.target.value && change({ day: e.target.value }) }),
      h('button', { type: 'button', class: 'button', title: 'Next day', onclick: () => change({ day: addDays(state.day, 1) }) }, '›'),
      h('button', { type: 'button', class: 'button', onclick: () => change({ day: localDay() }) }, 'Today'),
      h('button', { type: 'button', class: 'button', onclick: latest }, 'Latest')),
    h('div', { class: 'filters' },
      select('Family', FAMILIES, state.family, (v) => change({ family: v, model: '' })),
      modelOptions, orgOptions,
      select('Status', STATUSES, state.status, (v) => change({ status: v }))),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'button', onclick: exportAs('csv') }, 'Export CSV'),
      h('button', { type: 'button', class: 'button', onclick: exportAs('json') }, 'Export JSON'),
      compareButton));

  const list = new RequestList({
    filters, selection,
    onOpen: (id) => { location.hash = `#/requests/${id}`; },
    onTotal: (total) => {
      count.textContent = `${num(total)} request${total === 1 ? '' : 's'}`;
      emptyState.hidden = total !== 0;
      list.element.hidden = total === 0;
    },
  });
  const emptyState = empty(`No requests on ${dayLabel(state.day)}${filters.model || filters.exact_model || filters.org || filters.status ? ' match these filters' : ''}.`,
    h('button', { type: 'button', class: 'button', onclick: latest }, 'Go to the latest day with data'));
  emptyState.hidden = true;
  append(root, h('div', { class: 'heading' }, h('h1', null, dayLabel(state.day)), count), toolbar, notice, emptyState, list.element);

  // The model and organization choices come from the API; they fill in after the first rows.
  const options = Promise.all([
    getJSON('/api/stats/models', { start: filters.start, end: filters.end, tz: TZ }),
    getJSON('/api/stats/organizations'),
  ]).then(([models, orgs]) => {
    const names = models.modelStats.map((m) => m.model).filter((m) => !state.family || m.includes(state.family));
    if (state.model && !names.includes(state.model)) names.push(state.model);
    modelOptions.replaceChildren(select('Model', [['', 'All models'], ...names.map((m) => [m, m])], state.model, (v) => change({ model: v })));
    const ids = orgs.organizations.includes(state.org) || !state.org ? orgs.organizations : [...orgs.organizations, state.org];
    orgOptions.replaceChildren(select('Organization', [['', 'All organizations'], ...ids.map((o) => [o, o])], state.org, (v) => change({ org: v })));
  }).catch(() => {});

  try {
    await list.start();
    // The browser test reads this mark: the first render of a day must stay under a second.
    performance.mark('requests-rendered');
  } catch (err) {
    list.element.replaceWith(errorBox(err));
  }
  await options;
  const timer = setInterval(() => { if (!document.hidden) list.refresh().catch(() => {}); }, POLL_MS);
  return () => { clearInterval(timer); list.destroy(); selection.listeners.delete(onSelect); };
}
