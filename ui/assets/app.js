() => {
  if (window.__ragWired) return; window.__ragWired = true;
  const copy = async (text, btn) => {
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
      const ta = document.createElement('textarea'); ta.value = text; ta.setAttribute('readonly', '');
      ta.style.position = 'fixed'; ta.style.opacity = '0'; document.body.appendChild(ta); ta.select();
      try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
      ta.remove();
    }
    const label = btn.dataset.label || btn.textContent; btn.dataset.label = label;
    const say = (key, fallback) => (window.__ragText && window.__ragText(key)) || fallback;
    btn.textContent = ok ? say('copied', '✓ Référence copiée') : say('copy_failed', 'Copie impossible : voir « Référence à copier »');
    btn.classList.toggle('done', ok);
    if (!ok) { const d = btn.closest('.card')?.querySelector('details.ref-box'); if (d) d.open = true; }
    setTimeout(() => { btn.textContent = label; btn.classList.remove('done'); }, 2500);
  };
  // Whether the visitor has typed in the question box since the last question went: an answer that comes back then
  // leaves the focus and the view where they type (show_answer.js); Enter, the ask buttons and an example send one.
  window.__ragTyping = false;
  const inBox = (el) => !!(el && el.closest && el.closest('#question'));
  document.addEventListener('input', (ev) => { if (inBox(ev.target)) window.__ragTyping = true; }, true);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && inBox(ev.target)) window.__ragTyping = false;
  }, true);
  document.addEventListener('click', (ev) => {
    if (ev.target.closest && ev.target.closest('#ask-btn, #ask-alone, #examples')) window.__ragTyping = false;
  }, true);
  document.addEventListener('click', (ev) => {
    const c = ev.target.closest('button.copy-ref');
    if (c) { ev.preventDefault(); copy(c.dataset.ref || '', c); return; }
    const x = ev.target.closest('button.csl-export');
    if (x) {
      ev.preventDefault();
      const url = URL.createObjectURL(new Blob([x.dataset.csl || '[]'], {type: 'application/vnd.citationstyles.csl+json'}));
      const a = document.createElement('a'); a.href = url; a.download = 'references.csl.json';
      document.body.appendChild(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(url), 1000);
      return;
    }
    const r = ev.target.closest('button.read-link');
    if (r) {
      ev.preventDefault();
      window.__ragReaderRequest = JSON.stringify({doc: r.dataset.doc, start: Number(r.dataset.start), end: Number(r.dataset.end)});
      const go = document.querySelector('#reader-go button, button#reader-go');
      if (go) go.click();
    }
  });
}
