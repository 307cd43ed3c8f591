// One node call's answer for a screen, asked again whenever `deps` change. An answer to an older
// ask (the screen moved on meanwhile) is dropped; a failure gives `fallback`, as does the time
// before the first answer (the screen shows what it has, and says why elsewhere).
import { useEffect, useState } from 'react';
import type { Arg, Method, Ret } from '../api/transport';
import { transport } from '../api';

export function useCall<M extends Method, F>(method: M, arg: Arg<M>, fallback: F, deps: readonly unknown[]): Ret<M> | F {
  const [value, setValue] = useState<Ret<M> | F>(fallback);
  useEffect(() => {
    let live = true;
    transport()
      .call(method, arg)
      .then(
        (v) => live && setValue(() => v),
        () => live && setValue(() => fallback),
      );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return value;
}
