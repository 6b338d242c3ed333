() => {
  // After a question: bring the result into view, give it the focus (a keyboard or screen-reader user lands on
  // it) and say in the live region, in the page's language, what came back.
  const say = (key, fallback) => (window.__ragText && window.__ragText(key)) || fallback;
  const show = (n) => {
    const panel = document.querySelector('#result .rag-result');
    if (!panel) { if (n > 0) setTimeout(() => show(n - 1), 100); return; }
    const target = panel.querySelector('.answer, .abstain, .notice') || panel;
    target.setAttribute('tabindex', '-1');
    // a visitor already typing the next question keeps the focus and the view (app.js): only the live region speaks
    if (!window.__ragTyping) {
      // a follow-up's « Compris comme : … » note, just above the answer, comes into view with it
      const note = document.querySelector('#understood-row .understood');
      (note && note.offsetParent !== null ? document.querySelector('#understood-row') : target)
        .scrollIntoView({block: 'start'});
      target.focus({preventScroll: true});
    }
    const live = document.querySelector('#result-status');
    if (live) {
      live.textContent = panel.querySelector('.answer') ? say('live_answer', 'Réponse trouvée dans le corpus.')
        : panel.querySelector('.outcome-related') ? say('live_related', 'Pas de réponse : le corpus en parle sans répondre.')
        : panel.querySelector('.outcome-off-topic') ? say('live_off_topic', 'Pas de réponse : le corpus ne traite pas de cette question.')
        : (target.textContent || '').trim().slice(0, 200);
    }
  };
  setTimeout(() => show(30), 50);
}
