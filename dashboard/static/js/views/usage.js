// Usage view: a week of daily tokens (or cost) stacked by model, one day by hour, the model breakdown and totals.
import { getJSON, TZ } from '../api.js';
import { append, card, empty, h, select, shareBar } from '../dom.js';
import { addDays, compact, costNote, dayLabel, duration, localDay, money, num, shortDay, usd } from '../format.js';
import { chartBox, colour } from '../charts.js';

function go(state) {
  location.hash = `#/usage?${new URLSearchParams(Object.entries(state).filter(([, v]) => v))}`;
}

function stat(label, value, title) {
  return h('div', { class: 'stat', title }, h('span', { class: 'label' }, label), h('span', { class: 'value num' }, value));
}

function weekChart(daily, metric) {
  const field = metric === 'cost' ? 'modelCosts' : 'models';
  const show = metric === 'cost' ? usd : num;
  const models = [...new Set(daily.flatMap((d) => Object.keys(d.models)))];
  return chartBox(metric === 'cost' ? 'Cost per day (US dollars), stacked by model' : 'Tokens per day, stacked by model', () => ({
    type: 'bar',
    data: {
      labels: daily.map((d) => shortDay(d.date)),
      datasets: models.map((model, i) => ({ label: model, data: daily.map((d) => d[field][model] || 0), backgroundColor: colour(i), stack: metric })),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: (v) => (metric === 'cost' ? usd(v) : compact(v)) } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${show(c.raw)}` } } } },
  }));
}

function metricToggle(state) {
  return h('div', { class: 'toggle', role: 'group', 'aria-label': 'Show tokens or cost' },
    ['tokens', 'cost'].map((metric) => h('button', { type: 'button', class: 'button', 'aria-pressed': String(state.metric === metric),
      onclick: () => go({ ...state, metric: metric === 'tokens' ? '' : metric }) }, metric === 'tokens' ? 'Tokens' : 'Cost')));
}

function hourChart(hourly) {
  return chartBox('Tokens per hour', () => ({
    type: 'bar',
    data: { labels: hourly.map((b) => b.label), datasets: [
      { label: 'Tokens', data: hourly.map((b) => b.tokens), backgroundColor: colour(0), yAxisID: 'y' },
      { label: 'Requests', data: hourly.map((b) => b.requests), type: 'line', borderColor: colour(1), backgroundColor: colour(1), yAxisID: 'requests', pointRadius: 2 },
    ] },
    options: { scales: { y: { ticks: { callback: (v) => compact(v) } }, requests: { position: 'right', grid: { drawOnChartArea: false }, beginAtZero: true, ticks: { precision: 0 } } } },
  }), 220);
}

function modelTable(modelStats, total) {
  return h('table', { class: 'data' },
    h('thead', null, h('tr', null, ['Model', 'Requests', 'Tokens', 'Cost', 'Share'].map((c, i) => h('th', { class: i ? 'num' : null }, c)))),
    h('tbody', null, modelStats.map((m, i) => h('tr', null,
      h('td', null, h('span', { class: 'swatch', dataset: { index: i % 10 } }), m.model),
      h('td', { class: 'num' }, num(m.requests)), h('td', { class: 'num' }, num(m.tokens)),
      h('td', { class: 'num cost', title: costNote(m.cost) }, money(m.cost)),
      h('td', { class: 'num share' }, shareBar(m.tokens / (total || 1)), `${((m.tokens / (total || 1)) * 100).toFixed(1)}%`)))));
}

/** Draw the week ending on the chosen day (default today) and that day by hour. */
export async function mount(root, query) {
  const state = { day: query.get('day') || localDay(), org: query.get('org') || '', metric: query.get('metric') === 'cost' ? 'cost' : '' };
  const weekStart = addDays(state.day, -6), dayEnd = addDays(state.day, 1);
  const org = state.org;
  const [week, hours, models, totals, orgs] = await Promise.all([
    getJSON('/api/stats/dashboard', { start: weekStart, end: dayEnd, tz: TZ, org }),
    getJSON('/api/stats/hourly', { start: state.day, end: dayEnd, tz: TZ, org }),
    getJSON('/api/stats/models', { start: weekStart, end: dayEnd, tz: TZ, org }),
    getJSON('/api/stats', { start_date: weekStart, end_date: state.day, tz: TZ, org }),
    getJSON('/api/stats/organizations'),
  ]);
  const charts = [];
  const weekTokens = week.dailyStats.reduce((n, d) => n + d.tokens, 0);
  const toolbar = h('div', { class: 'toolbar' },
    h('div', { class: 'daynav' },
      h('button', { type: 'button', class: 'button', title: 'Previous day', onclick: () => go({ ...state, day: addDays(state.day, -1) }) }, '‹'),
      h('input', { type: 'date', value: state.day, 'aria-label': 'Day', onchange: (e) => e.target.value && go({ ...state, day: e.target.value }) }),
      h('button', { type: 'button', class: 'button', title: 'Next day', onclick: () => go({ ...state, day: addDays(state.day, 1) }) }, '›'),
      h('button', { type: 'button', class: 'button', onclick: () => go({ ...state, day: '' }) }, 'Today')),
    select('Organization', [['', 'All organizations'], ...orgs.organizations.map((o) => [o, o])], org, (v) => go({ ...state, org: v })),
    metricToggle({ ...state, metric: state.metric || 'tokens' }),
    h('span', { class: 'muted' }, `Times in ${TZ}`));
  const body = [];
  if (weekTokens === 0 && hours.todayRequests === 0) {
    body.push(empty(`No usage recorded in the 7 days to ${dayLabel(state.day)}.`));
  } else {
    const weekly = weekChart(week.dailyStats, state.metric || 'tokens'), hourly = hourChart(hours.hourlyStats);
    charts.push(weekly, hourly);
    body.push(
      h('div', { class: 'stat-cards' },
        stat('Requests (7 days)', num(totals.total_requests)),
        stat('Cost (7 days)', money(totals.total_cost), costNote(totals.total_cost)),
        stat(`Cost on ${shortDay(state.day)}`, money(hours.todayCost), costNote(hours.todayCost)),
        stat('Input tokens', compact(totals.total_input_tokens), num(totals.total_input_tokens)),
        stat('Output tokens', compact(totals.total_output_tokens), num(totals.total_output_tokens)),
        stat('Cache tokens', compact(totals.total_cache_tokens), num(totals.total_cache_tokens)),
        stat(`Tokens on ${shortDay(state.day)}`, compact(hours.todayTokens), num(hours.todayTokens)),
        stat('Avg response time', duration(hours.avgResponseTime))),
      card(state.metric === 'cost' ? 'Cost per day, by model' : 'Tokens per day, by model', weekly.element),
      h('div', { class: 'grid two' },
        card(`${dayLabel(state.day)} by hour`, hourly.element),
        card('Models (7 days)', models.modelStats.length ? modelTable(models.modelStats, models.modelStats.reduce((n, m) => n + m.tokens, 0)) : empty('No models.'))));
  }
  append(root, h('div', { class: 'heading' }, h('h1', null, 'Usage'), h('span', { class: 'muted' }, `${dayLabel(weekStart)} – ${dayLabel(state.day)}`)), toolbar, body);
  await Promise.all(charts.map((c) => c.ready));
  return () => charts.forEach((c) => c.destroy());
}
