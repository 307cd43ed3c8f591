// A form's submit as a person sees it: busy while it runs (a second press does nothing), and the
// failure in words for the form to show, with nothing typed lost.
import { useState } from 'react';
import { messageOf } from '../stores/errors';

export function useSubmit<T>(fn: () => Promise<T>, then: (v: T) => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
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
