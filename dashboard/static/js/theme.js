// Light and dark themes: the system's preference until the user picks one with the toggle.

const KEY = 'ccp-theme';

function systemTheme() {
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The theme in force ("light" or "dark"). */
export function currentTheme() {
  return document.documentElement.dataset.theme || systemTheme();
}

/** Apply the saved choice, wire the toggle, and tell listeners (charts) when the theme changes. */
export function initTheme(button) {
  const saved = localStorage.getItem(KEY);
  if (saved) document.documentElement.dataset.theme = saved;
  button.addEventListener('click', () => {
    const next = currentTheme() === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem(KEY, next);
    window.dispatchEvent(new CustomEvent('themechange'));
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (!localStorage.getItem(KEY)) window.dispatchEvent(new CustomEvent('themechange'));
  });
}
