// A QR code as an image: dark on light whatever the theme (phones read that best), with its quiet
// zone, drawn crisp at any scale. The text becomes a data: URL (the page's CSP allows data: images).
import { useEffect, useState } from 'react';

export function QrCode({ text, label, size = 240 }: { text: string; label: string; size?: number }) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    setUrl(null);
    // the encoder loads with the first code shown, not with the app
    import('qrcode')
      .then(({ default: QRCode }) =>
        QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 4, scale: 8, color: { dark: '#000000ff', light: '#ffffffff' } }),
      )
      .then((u) => live && (setUrl(u), setFailed(false)))
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [text]);
  return (
    <div className="qr" style={{ width: size, height: size }}>
      {url ? (
        <img src={url} alt={label} width={size} height={size} />
      ) : failed ? (
        <span className="qr-failed">This text is too long for a QR code.</span>
      ) : (
        <span className="qr-loading" aria-hidden="true" />
      )}
    </div>
  );
}
