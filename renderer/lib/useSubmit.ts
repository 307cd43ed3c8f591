// A form's submit as a person sees it: busy while it runs (a second press does nothing), and the
// failure in words for the form to show, with nothing typed lost. The failure goes away as soon as
// what it was about changes (`inputs`: the form's values), so a stale error never sits under a fix.
import { useEffect, useState } from 'react';
import { messageOf } from '../stores/errors';

export function useSubmit<T>(fn: () => Promise<T>, then: (v: T) => void, inputs: readonly unknown[] = []) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setError(null), inputs);
  const run = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      then(await fn());
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}
