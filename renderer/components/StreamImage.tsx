// An image among a stream's files, read through the node (never fetched from elsewhere): a quiet
// placeholder while it loads, the alt text when it cannot be shown. Clicking opens it large.
import { useEffect } from 'react';
import { imageKey, useFiles } from '../stores/files';
import { useUi } from '../stores/ui';

export function StreamImage({ publicKey, path, alt, className = 'md-image', open = true }: { publicKey: string; path: string; alt: string; className?: string; open?: boolean }) {
  const state = useFiles((s) => s.images[imageKey(publicKey, path)]);
  useEffect(() => {
    void useFiles.getState().loadImage(publicKey, path);
  }, [publicKey, path]);
  if (state?.error) return <span className="md-image-alt">{alt ? `[${alt}]` : '[image]'}</span>;
  if (!state?.url) return <span className={`${className} md-image-loading`} role="img" aria-label={alt ? `${alt} (loading)` : 'Image loading'} />;
  if (!open) return <img className={className} src={state.url} alt={alt} loading="lazy" decoding="async" draggable={false} />;
  return (
    <button type="button" className={`${className} md-image-button`} onClick={() => useUi.getState().openDialog({ kind: 'filePreview', publicKey, path })} aria-label={alt ? `Open image: ${alt}` : 'Open image'}>
      <img src={state.url} alt={alt} loading="lazy" decoding="async" draggable={false} />
    </button>
  );
}
