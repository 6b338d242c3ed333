() => {
  const tryScroll = (n) => {
    const hit = document.querySelector('#reader-hit');
    if (hit) { hit.scrollIntoView({block: 'center'}); return; }
    if (n > 0) setTimeout(() => tryScroll(n - 1), 100);
  };
  setTimeout(() => tryScroll(20), 50);
}
