"""The page in the visitor's language: the header and its « English / Français » switch, the script that picks the
language before Gradio starts (so that Gradio's own strings follow it), and the relabelling of the static labels
when the page loads.

The page is built with French labels; ``relabel`` gives, for a request, the update of every labelled component in
the visitor's language (``ui.i18n.request_lang``: ``?lang=``, else the browser's languages, else French). Gradio
picks its own strings' language from the browser's; ``HEAD`` switches them to the page's language by the same rule
(Gradio's ``changeLocale``), and sets ``<html lang>``.
"""

from __future__ import annotations

import json
from typing import Callable

import gradio as gr

from ui.i18n import DEFAULT, STRINGS, request_lang, text
from ui.render import esc

# The page's script strings, both languages (the page's script picks window.__ragLang's).
SCRIPT_KEYS = ("copied", "copy_failed", "live_answer", "live_related", "live_off_topic", "page_title", "empty")

HEAD = r"""<script>
(() => {
  // The page's language: ?lang=fr|en, else the first of French and English in the browser's languages, else French
  // (as ui.i18n.request_lang reads the request's Accept-Language, which the browser writes from the same list).
  const asked = new URLSearchParams(window.location.search).get('lang');
  let lang = (asked === 'fr' || asked === 'en') ? asked : null;
  const listed = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || ''];
  for (const tag of listed) {
    if (lang) break;
    const primary = String(tag).toLowerCase().split('-')[0];
    if (primary === 'fr' || primary === 'en') lang = primary;
  }
  lang = lang || 'fr';
  window.__ragLang = lang;
  window.__ragStrings = __STRINGS__;
  window.__ragText = (key) => (window.__ragStrings[key] || {})[lang] || '';
  document.documentElement.lang = lang;
  // Gradio picks its own strings' language (footer, upload zone, « Loading… ») from the browser's before this script
  // runs (it adds custom head content late): its own module's changeLocale switches them to the page's language.
  window.__ragGradioLocale = async () => {
    const core = performance.getEntriesByType('resource').map((e) => e.name)
      .find((name) => /\/assets\/core-[\w-]+\.js$/.test(name));
    if (!core) return false;
    try {
      const module = await import(core);
      if (typeof module.changeLocale !== 'function') return false;
      module.changeLocale(lang);
      return true;
    } catch (e) { return false; }
  };
  window.__ragGradioLocale();
  if (lang !== 'fr') {  // the documents' titles (the filter's choices, the reader's list): the corpus's words
    const titles = '#docs-filter label > span, #reader-doc ul li';
    const mark = () => document.querySelectorAll(titles).forEach((e) => {
      if (e.getAttribute('lang') !== 'fr') e.setAttribute('lang', 'fr');
    });
    new MutationObserver(mark).observe(document.documentElement, {childList: true, subtree: true});
  }
})();
</script>"""


def head() -> str:
    strings = {key: STRINGS[key] for key in SCRIPT_KEYS}
    return HEAD.replace("__STRINGS__", json.dumps(strings, ensure_ascii=False).replace("</", "<\\/"))


# After the load event: the title, <html lang>, and the example questions marked with their own language.
AFTER_LOAD = """(lang, french) => {
  const chosen = window.__ragLang || lang || 'fr';
  if (window.__ragGradioLocale) window.__ragGradioLocale();
  document.documentElement.lang = chosen;
  document.documentElement.dataset.ragReady = chosen;  // the labels are in the page's language (tests wait for it)
  if (window.__ragText) document.title = window.__ragText('page_title') || document.title;
  // The first invitation, in the page's language, by the page itself: an update from the server could come after
  // a first answer and hide it.
  const invite = document.querySelector('#result .notice > div');
  const empty = (window.__ragStrings || {}).empty;
  if (invite && empty && invite.textContent.trim() === empty.fr) invite.textContent = empty[chosen] || empty.fr;
  const known = JSON.parse(french || '[]');  // shown whole, or cut with « ... »
  const isFrench = (t) => known.some((q) => q === t || (t.endsWith('...') && q.startsWith(t.slice(0, -3))));
  document.querySelectorAll('#examples button, #examples td, #examples .gallery-item').forEach((e) => {
    const t = (e.textContent || '').trim();
    if (t) e.setAttribute('lang', isFrench(t) ? 'fr' : 'en');
  });
}"""


def switch(lang: str = DEFAULT) -> str:
    """The visible switch: both languages, each named in itself, the current one marked; a link reloads the page
    with ``?lang=``."""
    links = []
    for code, name in (("en", "English"), ("fr", "Français")):
        current = ' aria-current="true" class="current"' if code == lang else ""
        links.append(f'<a href="?lang={code}" lang="{code}" hreflang="{code}"{current}>{name}</a>')
    slash = ' <span aria-hidden="true">/</span> '
    return f'<nav class="lang-switch" aria-label="{esc(text("switch_label", lang))}">{slash.join(links)}</nav>'


def header(n_documents: int, lang: str = DEFAULT) -> str:
    """The page's header: the skip link, the live region, the title, what the app does, the language switch."""
    return (f'<a class="skip-link" href="#result">{esc(text("skip_link", lang))}</a>'
            '<p id="result-status" class="sr-only" role="status" aria-live="polite"></p>'
            f'<div id="app-header">{switch(lang)}<h1>{esc(text("heading", lang))}</h1>'
            f'<p>{esc(text("intro", lang, n=n_documents))}</p></div>')


def relabel(targets: dict[str, tuple[object, Callable[[str, object], dict]]]):
    """The load handler: ``targets`` maps a name to (component, a function of (lang, request) giving its update's
    fields). Returns the handler (a request in, one update per component, in ``targets``' order, and the language)
    and its outputs."""
    items = list(targets.values())

    def on_load(request: gr.Request = None):
        lang = request_lang(request)
        if lang == DEFAULT:  # the page is built in French: nothing to change (nor to race a first answer)
            return [gr.update() for _ in items] + [lang]
        return [gr.update(**fields(lang, request)) for _c, fields in items] + [lang]

    return on_load, [c for c, _ in items]


def label(key: str, **more: Callable[[str], object]) -> Callable[[str, object], dict]:
    """A component's label in the visitor's language (and other fields, each a function of the language)."""
    return lambda lang, _request: {"label": text(key, lang), **{k: f(lang) for k, f in more.items()}}

