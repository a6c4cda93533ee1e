// Settings view: request and response header rules (added, edited, switched, deleted) and body
// capture, saved through PUT /api/settings; the API's validation errors are shown where the edit was made.
import { getJSON, putJSON } from '../api.js';
import { append, card, errorBox, h } from '../dom.js';
import { openDialog } from '../dialog.js';

const LISTS = [
  ['requestHeaderRules', 'Request header rules', 'Applied to what goes upstream.'],
  ['responseHeaderRules', 'Response header rules', 'Applied to what the client gets back.'],
];
const CAPTURE_MODES = [['all', 'every request'], ['errors', 'requests that failed'], ['none', 'no request']];
const ACTIONS = [['set', 'set (add or overwrite)'], ['block', 'block (remove)'], ['replace', 'replace (find → value)']];

function ruleForm(rule) {
  const field = (label, input) => h('label', { class: 'field stacked' }, h('span', null, label), input);
  const inputs = {
    header: h('input', { name: 'header', value: rule.header || '', required: true, autocomplete: 'off', placeholder: 'x-example-header' }),
    action: h('select', { name: 'action' }, ACTIONS.map(([v, t]) => h('option', { value: v, selected: v === (rule.action || 'set') }, t))),
    value: h('input', { name: 'value', value: rule.value || '', autocomplete: 'off' }),
    find: h('input', { name: 'find', value: rule.find || '', autocomplete: 'off' }),
    enabled: h('input', { name: 'enabled', type: 'checkbox', checked: rule.enabled !== false }),
  };
  const form = h('form', { class: 'rule-form', method: 'dialog' },
    field('Header', inputs.header), field('Action', inputs.action), field('Value', inputs.value),
    field('Find (replace only)', inputs.find), h('label', { class: 'check-label' }, inputs.enabled, ' enabled'));
  const read = () => ({ header: inputs.header.value.trim(), action: inputs.action.value, value: inputs.value.value,
    find: inputs.find.value, enabled: inputs.enabled.checked });
  return { form, read };
}

/** Draw both rule lists; every change is saved at once and redrawn from the API's answer. */
export async function mount(root) {
  let saved = await getJSON('/api/settings');
  const sections = h('div', null);
  const notice = h('div', { class: 'notice', role: 'status' });

  // Only the part being changed is sent: whatever the body leaves out stays as saved.
  const save = async (listName, rules) => {
    saved = await putJSON('/api/settings', listName ? { [listName]: rules } : rules);
    draw();
    notice.replaceChildren('Saved. Every worker applies the change within a second.');
  };
  const quickSave = (listName, rules) => save(listName, rules).catch((err) => notice.replaceChildren(errorBox(err)));

  const edit = (listName, index) => {
    const rules = saved[listName];
    const { form, read } = ruleForm(index == null ? { enabled: true } : rules[index]);
    const problem = h('div', { class: 'dialog-error' });
    const submit = h('button', { type: 'submit', class: 'button primary' }, 'Save rule');
    form.append(problem, h('div', { class: 'form-actions' }, submit));
    const { dialog } = openDialog(index == null ? 'Add header rule' : 'Edit header rule', form);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const next = [...rules];
      if (index == null) next.push(read()); else next[index] = read();
      submit.disabled = true;
      try {
        await save(listName, next);
        dialog.close();
      } catch (err) {
        problem.replaceChildren(errorBox(err));
      } finally { submit.disabled = false; }
    });
  };

  const table = (listName, rules) => {
    if (!rules.length) return h('p', { class: 'muted' }, 'No rules.');
    return h('table', { class: 'data rules' },
      h('thead', null, h('tr', null, ['On', 'Header', 'Action', 'Value', 'Find', ''].map((c) => h('th', null, c)))),
      h('tbody', null, rules.map((rule, i) => h('tr', { class: rule.enabled ? null : 'disabled' },
        h('td', null, h('input', { type: 'checkbox', checked: rule.enabled, 'aria-label': `enable ${rule.header}`,
          onchange: (e) => quickSave(listName, rules.map((r, j) => (j === i ? { ...r, enabled: e.target.checked } : r))) })),
        h('td', null, h('code', null, rule.header)), h('td', null, rule.action),
        h('td', null, h('code', null, rule.value)), h('td', null, h('code', null, rule.find)),
        h('td', { class: 'row-actions' },
          h('button', { type: 'button', class: 'button small', onclick: () => edit(listName, i) }, 'Edit'),
          h('button', { type: 'button', class: 'button small danger', onclick: () => quickSave(listName, rules.filter((_, j) => j !== i)) }, 'Delete'))))));
  };

  const capture = () => {
    const mode = h('select', { name: 'bodyCapture', 'aria-label': 'Body capture' },
      CAPTURE_MODES.map(([v, t]) => h('option', { value: v, selected: v === saved.bodyCapture }, t)));
    const size = h('input', { name: 'bodyMaxBytes', type: 'number', min: 0, step: 1, value: saved.bodyMaxBytes ?? 0, 'aria-label': 'Largest stored body in bytes' });
    const problem = h('div', { class: 'form-error' });
    const submit = async () => {
      problem.replaceChildren();
      try {
        await save(null, { bodyCapture: mode.value, bodyMaxBytes: size.value === '' ? null : Number(size.value) });
      } catch (err) { problem.replaceChildren(errorBox(err)); }
    };
    return card('Body capture', h('p', { class: 'muted' }, 'Which requests keep their bodies, and how much of each is stored (0: no cap). Usage, status and timings are recorded either way.'),
      h('div', { class: 'toolbar' }, h('label', { class: 'field' }, h('span', null, 'Keep bodies of'), mode),
        h('label', { class: 'field' }, h('span', null, 'Largest stored body (bytes)'), size),
        h('button', { type: 'button', class: 'button', dataset: { save: 'capture' }, onclick: submit }, 'Save')), problem);
  };

  const draw = () => sections.replaceChildren(...LISTS.map(([name, title, hint]) => card(title,
    h('p', { class: 'muted' }, hint), table(name, saved[name]),
    h('button', { type: 'button', class: 'button', dataset: { add: name }, onclick: () => edit(name, null) }, 'Add rule'))),
  ...('bodyCapture' in saved ? [capture()] : []));
  draw();
  append(root, h('div', { class: 'heading' }, h('h1', null, 'Settings')), notice, sections);
  return null;
}
