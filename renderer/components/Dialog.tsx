// A modal dialog on the native <dialog>: focus moves in (to its first field, so typing starts at
// once) and is trapped, Esc closes, the page behind is inert. Full-screen on narrow windows (CSS).
import { useRef, type ReactNode } from 'react';
import { useModalDialog } from './DialogModal';
import { Icon } from './Icon';

const FIELD = 'input:not([type=hidden]):not([type=file]):not([disabled]), textarea:not([disabled]), select:not([disabled])';
const CONTROL = `${FIELD}, button:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])`;

function firstControl(d: HTMLDialogElement): HTMLElement | null {
  const visible = (el: HTMLElement) => el.getClientRects().length > 0;
  const pick = (where: string, sel: string) => [...d.querySelectorAll<HTMLElement>(`${where} :is(${sel})`)].find(visible) ?? null;
  // A confirmation without fields starts on its footer's first button: Cancel, never the danger.
  return pick('.dialog-body', '[data-autofocus]') ?? pick('.dialog-body', FIELD) ?? pick('.dialog-body', CONTROL) ?? pick('.dialog-foot', CONTROL);
}

export function Dialog({
  title,
  onClose,
  children,
  footer,
  size = 'md',
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  size?: 'sm' | 'md' | 'lg';
}) {
  const ref = useRef<HTMLDialogElement>(null);
  // showModal focuses the first focusable element, which is the header's Close button: move on
  // to the first field (or what asks for it with data-autofocus), else the body's first control.
  const close = useModalDialog(ref, onClose, firstControl);
  const titleId = `dlg-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} className={`dialog dialog-${size}`} aria-labelledby={titleId}>
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon-button" onClick={close} aria-label="Close">
          <Icon name="close" size={18} />
        </button>
      </div>
      <div className="dialog-body">{children}</div>
      {footer ? <div className="dialog-foot">{footer}</div> : null}
    </dialog>
  );
}

/** A form's or a dialog's error line, read out by screen readers as it appears. */
export function FormError({ text }: { text: string | null | undefined }) {
  return text ? (
    <p className="form-error" role="alert">
      {text}
    </p>
  ) : null;
}

/** "Are you sure?": Cancel (focused, so Enter never destroys) and the action, with its error below. */
export function ConfirmDialog({
  title,
  action,
  busyAction,
  busy = false,
  tone = 'danger',
  error,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  action: string;
  busyAction?: string;
  busy?: boolean;
  tone?: 'danger' | 'primary';
  error?: string | null;
  onConfirm: () => void;
  onClose: () => void;
  children: ReactNode;
}) {
  return (
    <Dialog
      title={title}
      size="sm"
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button button-quiet" onClick={onClose} autoFocus>
            Cancel
          </button>
          <button type="button" className={`button button-${tone}`} onClick={onConfirm} disabled={busy}>
            {busy && busyAction ? busyAction : action}
          </button>
        </>
      }
    >
      {children}
      <FormError text={error} />
    </Dialog>
  );
}
