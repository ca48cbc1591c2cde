/**
 * The bump-bar cursor is real keyboard focus: one card is in the Tab order (roving tabindex:
 * the cursor's card, else the first), and a card the keys moved to — or one rebuilt under the
 * focus — gets the browser's focus, so screen readers follow it too.
 */
export function syncFocus(root: HTMLElement, focused: string | null, moved: boolean): void {
  const cards = [...root.querySelectorAll<HTMLElement>(".ticket")];
  const card = cards.find((c) => c.dataset.orderId === focused);
  const stop = card ?? cards[0];
  for (const c of cards) {
    const index = c === stop ? 0 : -1;
    if (c.tabIndex !== index) c.tabIndex = index;
  }
  const active = document.activeElement;
  if (card && !card.contains(active) && (moved || active === null || active === document.body)) card.focus();
}
