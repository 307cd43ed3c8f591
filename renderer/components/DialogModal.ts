// The modal behaviour the Dialog and the Lightbox share, on the native <dialog>: showModal (focus
// trapped inside, the page behind inert), Esc closes through the caller's onClose (so its state
// decides), and on unmount the dialog closes and focus goes back to what opened it.
import { useCallback, useEffect, useRef, type RefObject } from 'react';

/**
 * Make `ref`'s <dialog> modal while mounted. `focus` picks where focus starts (null or absent:
 * where showModal puts it, the first autofocus or focusable element). Returns a stable close()
 * that calls the latest onClose.
 */
export function useModalDialog(
  ref: RefObject<HTMLDialogElement | null>,
  onClose: () => void,
  focus?: (d: HTMLDialogElement) => HTMLElement | null,
): () => void {
  const latest = useRef(onClose);
  latest.current = onClose;
  const pick = useRef(focus);
  pick.current = focus;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const before = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    pick.current?.(d)?.focus();
    const onCancel = (e: Event) => {
      e.preventDefault();
      latest.current();
    };
    d.addEventListener('cancel', onCancel);
    return () => {
      d.removeEventListener('cancel', onCancel);
      if (d.open) d.close();
      before?.focus?.();
    };
  }, [ref]);
  return useCallback(() => latest.current(), []);
}
