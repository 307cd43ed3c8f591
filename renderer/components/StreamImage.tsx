// An image among a stream's files, read through the node (never fetched from elsewhere): a quiet
// placeholder while it loads, the alt text when it cannot be shown. Clicking opens it large (a
// lightbox with its alt text).
import { useEffect, useState } from 'react';
import { imageKey, useFiles } from '../stores/files';
import { Lightbox } from './Lightbox';

export function StreamImage({
  publicKey,
  path,
  alt,
  className = 'md-image',
  open = true,
}: {
  publicKey: string;
  path: string;
  alt: string;
  className?: string;
  open?: boolean;
}) {
  const state = useFiles((s) => s.images[imageKey(publicKey, path)]);
  const [large, setLarge] = useState(false);
  useEffect(() => {
    void useFiles.getState().loadImage(publicKey, path);
  }, [publicKey, path]);
  if (state?.error) return <span className="md-image-alt">{alt ? `[${alt}]` : '[image]'}</span>;
  if (!state?.url) return <span className={`${className} md-image-loading`} role="img" aria-label={alt ? `${alt} (loading)` : 'Image loading'} />;
  if (!open) return <img className={className} src={state.url} alt={alt} loading="lazy" decoding="async" draggable={false} />;
  return (
    <>
      <button
        type="button"
        className={`${className} md-image-button`}
        onClick={() => setLarge(true)}
        aria-label={alt ? `Open image: ${alt}` : 'Open image'}
        title={alt || undefined}
      >
        <img src={state.url} alt={alt} loading="lazy" decoding="async" draggable={false} />
      </button>
      {large ? <Lightbox src={state.url} alt={alt} onClose={() => setLarge(false)} /> : null}
    </>
  );
}
