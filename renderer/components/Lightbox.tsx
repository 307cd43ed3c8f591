// A picture of a post, large: a modal <dialog> over a dimmed page, the alt text under it, Esc or
// a click beside the picture closes, focus returns to what opened it (DialogModal, as Dialog).
import { useRef } from 'react';
import { createPortal } from 'react-dom';
import { useModalDialog } from './DialogModal';
import { Icon } from './Icon';

export function Lightbox({ src, alt, onClose }: { src: string; alt: string; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  // focus starts on the Close button (autoFocus): the picture itself takes no keys
  const close = useModalDialog(ref, onClose);
  return createPortal(
    <dialog
      ref={ref}
      className="lightbox"
      aria-label={alt ? `Picture: ${alt}` : 'Picture'}
      onClick={(e) => {
        // the backdrop and the space around the picture are the dialog itself
        if (e.target === e.currentTarget || (e.target as HTMLElement).classList.contains('lightbox-stage')) close();
      }}
    >
      <div className="lightbox-stage">
        <img src={src} alt={alt} />
        {alt ? (
          <p className="lightbox-alt" dir="auto">
            {alt}
          </p>
        ) : null}
      </div>
      <button type="button" className="icon-button lightbox-close" onClick={() => close()} aria-label="Close picture" autoFocus>
        <Icon name="close" size={20} />
      </button>
    </dialog>,
    document.body,
  );
}
