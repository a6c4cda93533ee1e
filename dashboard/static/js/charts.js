// Charts drawn by the vendored Chart.js (loaded on first use: the requests view never pays for it),
// coloured from the theme's CSS variables and redrawn when the theme changes.
import { h } from './dom.js';

const LIBRARY = '/assets/vendor/chartjs/chart.umd.min.js';
const PALETTE = ['#6366f1', '#f59e0b', '#10b981', '#ef4444', '#0ea5e9', '#a855f7', '#84cc16', '#ec4899', '#14b8a6', '#f97316'];
let loading = null;

/** Chart.js, loaded once by a script element (allowed by script-src 'self'). */
export function loadChartLibrary() {
  if (window.Chart) return Promise.resolve(window.Chart);
  loading = loading || new Promise((resolve, reject) => {
    const script = h('script', { src: LIBRARY });
    script.addEventListener('load', () => resolve(window.Chart));
    script.addEventListener('error', () => reject(new Error('the chart library did not load')));
    document.head.append(script);
  });
  return loading;
}

/** A stable colour for the n-th series. */
export function colour(index) {
  return PALETTE[index % PALETTE.length];
}

function themed() {
  const style = getComputedStyle(document.documentElement);
  return { text: style.getPropertyValue('--muted').trim() || '#666', grid: style.getPropertyValue('--grid').trim() || '#ddd' };
}

/** A chart in a sized box; returns {element, ready, destroy}. `build(colours)` gives the Chart.js config. */
export function chartBox(label, build, height = 260) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  const element = h('div', { class: 'chart' }, canvas);
  element.style.height = `${height}px`;
  let chart = null;
  const draw = (Chart) => {
    if (chart) chart.destroy();
    const colours = themed();
    Chart.defaults.color = colours.text;
    Chart.defaults.borderColor = colours.grid;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    const config = build(colours);
    config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
    chart = new Chart(canvas, config);
    element.dataset.drawn = String(config.data.datasets.reduce((n, d) => n + d.data.length, 0));
  };
  const ready = loadChartLibrary().then(draw);
  const redraw = () => loadChartLibrary().then(draw);
  window.addEventListener('themechange', redraw);
  return { element, ready, destroy: () => { window.removeEventListener('themechange', redraw); if (chart) chart.destroy(); } };
}
