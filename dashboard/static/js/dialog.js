// Modal dialogs on the native <dialog>: Esc closes them (the browser's own handling), so does ✕.
import { h } from './dom.js';

/** Open a modal with a title, body nodes and footer buttons; resolves when it closes. */
export function openDialog(title, body, buttons = []) {
  const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close', onclick: () => dialog.close() }, '✕');
  const dialog = h('dialog', { class: 'dialog', 'aria-label': title },
    h('header', null, h('h2', null, title), close),
    h('div', { class: 'dialog-body' }, body),
    buttons.length ? h('footer', null, buttons) : null);
  document.body.append(dialog);
  dialog.showModal();
  return {
    dialog,
    closed: new Promise((resolve) => dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue); })),
  };
}
