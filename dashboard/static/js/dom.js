// Element building for every view. Strings always become text nodes, never markup: logged
// prompts and responses can hold anything, including <script> and <img onerror>.

/** Create an element: props set attributes, `on*` props add listeners, children are appended as nodes or text. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (typeof value === 'boolean' || (typeof value === 'number' && key in el)) el[key] = value;
    else el.setAttribute(key, String(value));
  }
  return append(el, children);
}

/** Append children (nested arrays allowed); null and false are skipped, anything else not a Node becomes text. */
export function append(el, ...children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A message shown where a list or chart has nothing to show. */
export function empty(text, ...actions) {
  return h('div', { class: 'empty' }, h('p', null, text), actions.length ? h('p', null, actions) : null);
}

/** The API's ErrorResponse (or a network failure) shown as an alert box. */
export function errorBox(err) {
  return h('div', { class: 'alert', role: 'alert' },
    h('strong', null, err.message || 'Request failed'), err.details ? h('span', null, ' — ', err.details) : null);
}

/** A labelled <select> built from [value, label] pairs, with `value` selected. */
export function select(label, options, value, onchange) {
  const control = h('select', { 'aria-label': label, onchange: (e) => onchange(e.target.value) },
    options.map(([v, text]) => h('option', { value: v, selected: v === (value || '') }, text)));
  return h('label', { class: 'field' }, h('span', null, label), control);
}

/** A <section> with a heading. */
export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', null, title) : null, children);
}

/** A small horizontal bar filled to `share` (0..1). */
export function shareBar(share) {
  const fill = h('span', { class: 'fill' });
  fill.style.width = `${Math.min(100, Math.max(0, share * 100)).toFixed(1)}%`;
  return h('span', { class: 'bar' }, fill);
}

/** Save text as a file the browser downloads. */
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h('a', { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
