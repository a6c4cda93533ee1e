// Rate limits view: each organization's latest unified 5-hour and 7-day windows with live reset
// countdowns, and the week's utilisation history as a chart.
import { getJSON, TZ } from '../api.js';
import { append, card, empty, h, shareBar } from '../dom.js';
import { countdown, dateTime, percent, resetMs } from '../format.js';
import { chartBox, colour } from '../charts.js';

const STATUS_KIND = { allowed: 'ok', allowed_warning: 'warn', rejected: 'bad' };

function window_(label, utilisation, reset, countdowns) {
  const ms = resetMs(reset);
  const left = h('span', { class: 'num countdown' }, countdown(ms));
  if (ms) countdowns.push([left, ms]);
  const level = utilisation >= 0.9 ? 'bad' : utilisation >= 0.7 ? 'warn' : 'ok';
  return h('div', { class: `window ${level}` },
    h('div', { class: 'window-head' }, h('span', { class: 'label' }, label), h('span', { class: 'value num' }, percent(utilisation, 1))),
    shareBar(utilisation || 0),
    h('div', { class: 'muted' }, ms ? ['resets in ', left, ` · ${new Date(ms).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' })}`] : 'no reset time sent'));
}

function historyChart(history) {
  const labels = [...new Set(history.map((p) => p.start))].sort();
  const orgs = [...new Set(history.map((p) => p.organizationId))];
  const datasets = [];
  orgs.forEach((org, i) => {
    const points = new Map(history.filter((p) => p.organizationId === org).map((p) => [p.start, p]));
    const series = (key) => labels.map((l) => (points.has(l) && points.get(l)[key] != null ? points.get(l)[key] * 100 : null));
    datasets.push({ label: `${org} · 5h`, data: series('unifiedUtilization5h'), borderColor: colour(i * 2), backgroundColor: colour(i * 2), spanGaps: true, pointRadius: 1 });
    datasets.push({ label: `${org} · 7d`, data: series('unifiedUtilization7d'), borderColor: colour(i * 2 + 1), backgroundColor: colour(i * 2 + 1), borderDash: [5, 4], spanGaps: true, pointRadius: 1 });
  });
  const fmt = (iso) => new Date(iso).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });
  return chartBox('Utilisation history', () => ({
    type: 'line',
    data: { labels: labels.map(fmt), datasets },
    options: { scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } }, x: { ticks: { maxTicksLimit: 12 } } } },
  }));
}

const WINDOW_NAMES = { '5h': '5-hour', '7d': '7-day' };

function forecastLine(forecast, reset) {
  if (!forecast) return h('p', { class: 'muted forecast' }, 'No forecast: the window has ended.');
  if (!forecast.fullAt) return h('p', { class: 'forecast' }, 'No usage in the last hour: at this rate the window does not fill.');
  const when = new Date(forecast.fullAt).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });
  return h('p', { class: `forecast ${forecast.beforeReset ? 'bad' : 'ok'}` },
    `At the last hour's rate (${percent(forecast.ratePerHour, 1)} an hour) it reaches 100% ${when}, `,
    forecast.beforeReset ? 'before its reset.' : `after its reset (${new Date(reset).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' })}).`);
}

function sharesTable(title, shares, link) {
  const shown = shares.slice(0, 10);
  return h('table', { class: 'data shares' },
    h('thead', null, h('tr', null, [title, 'Used', 'Uncertain', 'Requests'].map((c, i) => h('th', { class: i ? 'num' : null }, c)))),
    h('tbody', null, shown.map((share) => h('tr', null,
      h('td', null, share.key == null ? h('span', { class: 'muted' }, 'none') : link ? link(share.key) : share.key),
      h('td', { class: 'num' }, percent(share.rise, 1)), h('td', { class: 'num muted' }, percent(share.uncertain, 1)),
      h('td', { class: 'num' }, String(share.requests))))));
}

function windowUsage(name, org) {
  const [current] = org.windows;
  if (!current) return null;
  // An h3, not a card's h2: the organization cards above are found by their h2.
  return h('section', { class: 'card window-usage', dataset: { window: name, org: org.organizationId } },
    h('h3', null, `What used the ${WINDOWS_LABEL(name)} window of ${org.organizationId}`),
    h('p', { class: 'muted' }, `${percent(current.utilization, 1)} used since ${new Date(current.start).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' })}; `,
      `${percent(current.attributed, 1)} charged to the ${current.requests} responses this proxy saw, ${percent(current.uncertain, 1)} of it uncertain `,
      '(concurrent requests, the first report of the window, gaps: other machines of the organization may be in it).'),
    forecastLine(current.forecast, current.reset),
    h('div', { class: 'grid two' },
      sharesTable('Session', current.bySession, (id) => h('span', { title: id }, id.slice(0, 8))),
      sharesTable('Model', current.byModel), sharesTable('Subagent', current.byAgent), sharesTable('Project', current.byProject)));
}

const WINDOWS_LABEL = (name) => WINDOW_NAMES[name] || name;

/** Draw the latest windows and the last 7 days of history; returns the cleanup of timers and chart. */
export async function mount(root) {
  // Seven days back from the start of this hour, so each point is one whole local hour.
  const start = new Date();
  start.setMinutes(0, 0, 0);
  start.setDate(start.getDate() - 7);
  const [{ latest, history }, fiveHours, week] = await Promise.all([
    getJSON('/api/ratelimits', { tz: TZ, start: start.toISOString() }),
    getJSON('/api/ratelimits/usage', { tz: TZ, window: '5h', start: start.toISOString() }),
    getJSON('/api/ratelimits/usage', { tz: TZ, window: '7d', start: start.toISOString() })]);
  append(root, h('div', { class: 'heading' }, h('h1', null, 'Rate limits'), h('span', { class: 'muted' }, 'Claude subscription windows, as Anthropic reported them')));
  if (!latest.length) {
    append(root, empty('No response carried unified rate-limit headers yet.'));
    return null;
  }
  const countdowns = [];
  append(root, h('div', { class: 'grid cards' }, latest.map((org) => card(null,
    h('div', { class: 'org-head' }, h('h2', null, org.organizationId),
      h('span', { class: `badge ${STATUS_KIND[org.unifiedStatus] || 'warn'}` }, (org.unifiedStatus || 'unknown').replace(/_/g, ' '))),
    window_('5-hour window', org.unifiedUtilization5h, org.unifiedReset5h, countdowns),
    window_('7-day window', org.unifiedUtilization7d, org.unifiedReset7d, countdowns),
    h('p', { class: 'muted small' }, 'as of ', h('a', { href: `#/requests/${org.requestId}` }, dateTime(org.timestamp)))))));
  for (const [name, usage] of [['5h', fiveHours], ['7d', week]]) {
    append(root, usage.organizations.map((org) => windowUsage(name, org)).filter(Boolean));
  }
  const chart = history.length ? historyChart(history) : null;
  append(root, card("Last 7 days (utilisation last reported each hour)", chart ? chart.element : empty('No history in the last 7 days.')));
  const timer = setInterval(() => { for (const [node, ms] of countdowns) node.textContent = countdown(ms); }, 1000);
  if (chart) await chart.ready;
  return () => { clearInterval(timer); if (chart) chart.destroy(); };
}
