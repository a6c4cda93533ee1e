// The (at most two) requests picked for Compare, kept across views for the browser session.

const KEY = 'ccp-compare';

function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY)) || []; } catch { return []; }
}

/** The compare selection: toggling a third id drops the oldest; listeners hear every change. */
export const selection = {
  ids: load(),
  listeners: new Set(),
  has(id) { return this.ids.includes(id); },
  toggle(id, on) {
    this.ids = this.ids.filter((x) => x !== id);
    if (on) this.ids = [...this.ids, id].slice(-2);
    sessionStorage.setItem(KEY, JSON.stringify(this.ids));
    for (const listener of this.listeners) listener(this.ids);
  },
};
