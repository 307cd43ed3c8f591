// Scanning a QR code with the camera (pairing a device, following a stream): a live preview, a
// few frames a second decoded (BarcodeDetector where the browser has it, jsQR otherwise, loaded
// only when scanning starts), the camera stopped as soon as a code is taken or the scanner closes.
import { useEffect, useRef, useState } from 'react';
import { ErrorBanner } from './States';
import { scannedFor, type Scanned, type ScanKind } from '../lib/qrText';

/** Decoding at most this often keeps a laptop's fan quiet and the dialog responsive (≤ 8 frames/s). */
const FRAME_MS = 125;
/** Frames are scaled down to this width before decoding: a QR held up to a camera is large. */
const DECODE_WIDTH = 480;

type Decoder = (canvas: HTMLCanvasElement, ctx: CanvasRenderingContext2D) => Promise<string | null>;

interface Detector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
type DetectorClass = (new (o: { formats: string[] }) => Detector) & { getSupportedFormats?: () => Promise<string[]> };

async function makeDecoder(): Promise<Decoder> {
  const BD = (globalThis as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  const formats: string[] = BD?.getSupportedFormats ? await BD.getSupportedFormats().catch(() => []) : [];
  if (BD && formats.includes('qr_code')) {
    const d = new BD({ formats: ['qr_code'] });
    return async (canvas) => (await d.detect(canvas))[0]?.rawValue ?? null;
  }
  const jsQR = (await import('jsqr')).default;
  return async (canvas, ctx) => {
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' })?.data ?? null;
  };
}

/** Why the camera did not start, in words that say what to do. */
export function cameraProblem(e: unknown): string {
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return 'Drayer may not use the camera: permission was refused. Allow the camera for Drayer in your system or browser settings, or paste the code instead.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NoCamera')
    return 'This computer has no camera Drayer can use. Paste the code instead (copy it on the other computer).';
  if (name === 'NotReadableError' || name === 'AbortError')
    return 'The camera is busy in another app, or stopped. Close that app and try again, or paste the code.';
  return `The camera did not start (${name ? `${name}: ` : ''}${e instanceof Error ? e.message : String(e)}). Paste the code instead.`;
}

async function openCamera(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('no camera API'), { name: 'NoCamera' });
  // a camera the person blocked earlier is said as such (getUserMedia's own error for it varies by browser)
  const state = await navigator.permissions?.query({ name: 'camera' as PermissionName }).then(
    (p) => p.state,
    () => null,
  );
  if (state === 'denied') throw Object.assign(new Error('the camera is blocked for this page'), { name: 'NotAllowedError' });
  return navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 1280 } }, audio: false });
}

/**
 * A camera preview that calls `onCode` once with the first Drayer code of `kind` it sees (and
 * stops the camera); a code of another kind is said in the panel while it keeps looking.
 */
export function QrScanner({ kind, onCode, onClose }: { kind: ScanKind; onCode: (s: Extract<Scanned, { ok: true }>) => void; onClose: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<'starting' | 'scanning' | 'failed'>('starting');
  const [message, setMessage] = useState<string | null>(null);
  const took = useRef(onCode);
  took.current = onCode;
  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      for (const t of stream?.getTracks() ?? []) t.stop();
      stream = null;
    };
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    void (async () => {
      try {
        const [s, decode] = await Promise.all([openCamera(), makeDecoder()]);
        stream = s;
        if (stopped || !ctx) return stop();
        const v = video.current!;
        v.srcObject = s;
        await v.play().catch(() => undefined);
        setState('scanning');
        let last = '';
        const tick = async () => {
          if (stopped) return;
          if (v.videoWidth > 0) {
            const scale = Math.min(1, DECODE_WIDTH / v.videoWidth);
            canvas.width = Math.round(v.videoWidth * scale);
            canvas.height = Math.round(v.videoHeight * scale);
            ctx.drawImage(v, 0, 0, canvas.width, canvas.height);
            const text = await decode(canvas, ctx).catch(() => null);
            if (stopped) return;
            if (text !== null && text !== last) {
              last = text;
              const r = scannedFor(kind, text);
              if (r.ok) {
                stop();
                took.current(r);
                return;
              }
              setMessage(r.message);
            }
          }
          timer = setTimeout(() => void tick(), FRAME_MS);
        };
        void tick();
      } catch (e) {
        stop();
        setState('failed');
        setMessage(cameraProblem(e));
      }
    })();
    return stop;
  }, [kind]);

  return (
    <div className="qr-scanner" role="group" aria-label="Scan a QR code">
      {state !== 'failed' ? (
        <div className="qr-scanner-view">
          <video ref={video} muted playsInline aria-label="Camera preview" />
          <span className="qr-scanner-frame" aria-hidden="true" />
        </div>
      ) : null}
      <p className="field-hint" aria-live="polite">
        {state === 'starting' ? 'Starting the camera…' : state === 'scanning' ? 'Hold the QR code inside the frame.' : null}
      </p>
      {message ? <ErrorBanner text={message} /> : null}
      <div className="form-actions">
        <button type="button" className="button button-sm button-quiet" onClick={onClose}>
          {state === 'failed' ? 'Close scanner' : 'Stop scanning'}
        </button>
      </div>
    </div>
  );
}

/** The button that opens the scanner. */
export function ScanButton({ onClick, disabled }: { onClick: () => void; disabled?: boolean }) {
  return (
    <button type="button" className="button button-sm qr-scan-button" onClick={onClick} disabled={disabled}>
      Scan QR code
    </button>
  );
}
