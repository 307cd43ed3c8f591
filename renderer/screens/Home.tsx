// Home: the composer over the merged timeline of your streams and the ones you follow.
import { Icon } from '../components/Icon';
import { selectMine, useStreams } from '../stores/streams';
import { Composer } from './Composer';
import { Timeline } from './Timeline';
import { useUi } from '../stores/ui';

export function Home() {
  const main = useStreams((s) => selectMine(s)[0]);
  const openDialog = useUi((s) => s.openDialog);
  return (
    <>
      <header className="page-head">
        <h1>Home</h1>
        {main ? (
          // Share is one click from Home at any width (the rail's Share card hides on narrower windows).
          <button
            type="button"
            className="button button-sm home-share"
            onClick={() => openDialog({ kind: 'share', publicKey: main.publicKey })}
            aria-label={`Share ${main.name}`}
          >
            <Icon name="share" size={16} /> Share
          </button>
        ) : null}
      </header>
      <Composer />
      <Timeline />
    </>
  );
}
