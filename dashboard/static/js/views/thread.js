// Messages of the Anthropic API drawn as a thread: text, thinking, tool_use, tool_result and
// images, with Claude Code's <system-reminder> sections folded. Everything goes in as text.
import { h } from '../dom.js';

const REMINDER = /<system-reminder>([\s\S]*?)<\/system-reminder>/g;
const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp)$/;
const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

/** JSON pretty-printed for a <pre>. */
export function pretty(value) {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** Text with each system reminder folded into a closed <details>. */
export function textWithReminders(text) {
  const parts = [];
  let last = 0;
  for (const match of String(text).matchAll(REMINDER)) {
    if (match.index > last) parts.push(h('div', { class: 'text' }, text.slice(last, match.index)));
    parts.push(h('details', { class: 'reminder' }, h('summary', null, 'system reminder'), h('div', { class: 'text' }, match[1].trim())));
    last = match.index + match[0].length;
  }
  if (last < String(text).length) parts.push(h('div', { class: 'text' }, String(text).slice(last)));
  return parts;
}

function image(block) {
  const source = block.source || {};
  if (source.type === 'base64' && IMAGE_TYPES.test(source.media_type || '') && BASE64.test(source.data || '')) {
    return h('figure', { class: 'block image' }, h('img', { src: `data:${source.media_type};base64,${source.data}`, alt: 'image from the conversation', loading: 'lazy' }));
  }
  // Remote images are not fetched: the dashboard loads nothing from other origins.
  return h('div', { class: 'block image' }, h('span', { class: 'tag' }, 'image'), ' ', source.url || source.type || 'unsupported source');
}

/** One content block of a message. */
export function contentBlock(block) {
  if (typeof block === 'string') return h('div', { class: 'block text-block' }, textWithReminders(block));
  switch (block.type) {
    case 'text':
      return h('div', { class: 'block text-block' }, textWithReminders(block.text || ''));
    case 'thinking':
    case 'redacted_thinking':
      return h('details', { class: 'block thinking' }, h('summary', null, block.type === 'thinking' ? 'thinking' : 'redacted thinking'),
        h('div', { class: 'text' }, block.thinking || block.data || ''));
    case 'tool_use':
    case 'server_tool_use':
      return h('div', { class: 'block tool-use' }, h('div', { class: 'block-title' }, h('span', { class: 'tag' }, 'tool use'), ' ', h('strong', null, block.name || ''), ' ', h('span', { class: 'muted' }, block.id || '')),
        h('pre', null, pretty(block.input ?? {})));
    case 'tool_result':
      return h('div', { class: `block tool-result${block.is_error ? ' error' : ''}` },
        h('div', { class: 'block-title' }, h('span', { class: 'tag' }, block.is_error ? 'tool error' : 'tool result'), ' ', h('span', { class: 'muted' }, block.tool_use_id || '')),
        typeof block.content === 'string' ? h('pre', null, block.content) : (block.content || []).map(contentBlock));
    case 'image':
      return image(block);
    default:
      return h('div', { class: 'block other' }, h('span', { class: 'tag' }, block.type || 'block'), h('pre', null, pretty(block)));
  }
}

/** One message: its role and its content (a string or a list of blocks). */
export function message(msg, extra) {
  const content = typeof msg.content === 'string' ? [contentBlock(msg.content)] : (msg.content || []).map(contentBlock);
  return h('article', { class: `message ${msg.role || 'unknown'}` },
    h('header', null, h('span', { class: 'role' }, msg.role || 'unknown'), extra || null), content);
}

/** The system prompt (a string or text blocks), each block with its cache marker. */
export function systemBlocks(system) {
  const blocks = typeof system === 'string' ? [{ type: 'text', text: system }] : system || [];
  return blocks.map((block, i) => h('div', { class: 'block system-block' },
    h('div', { class: 'block-title' }, h('span', { class: 'tag' }, `system ${i + 1}`),
      block.cache_control ? h('span', { class: 'tag cache' }, `cache ${block.cache_control.type || ''}`) : null,
      h('span', { class: 'muted' }, ` ${(block.text || '').length.toLocaleString()} chars`)),
    textWithReminders(block.text || '')));
}

/** Each tool, collapsed, with its description and input schema. */
export function toolList(tools) {
  return (tools || []).map((tool) => h('details', { class: 'tool' },
    h('summary', null, h('strong', null, tool.name || tool.type || 'tool'), tool.description ? h('span', { class: 'muted' }, ` — ${tool.description.split('\n')[0].slice(0, 140)}`) : null),
    tool.description ? h('div', { class: 'text' }, tool.description) : null,
    h('pre', null, pretty(tool.input_schema || tool))));
}
