// Catches what a part of the screen throws while rendering, so one bad post or screen shows a
// short note in its place and the rest of the app keeps working. `resetKey` changing (another
// route, another post version) tries again.
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  children: ReactNode;
  /** what to show instead; gets the error and a retry */
  fallback: (error: Error, retry: () => void) => ReactNode;
  resetKey?: unknown;
}

export class ErrorBoundary extends Component<Props, { error: Error | null; key: unknown }> {
  override state = { error: null as Error | null, key: this.props.resetKey };

  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  static getDerivedStateFromProps(props: Props, state: { error: Error | null; key: unknown }) {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }

  override componentDidCatch(error: unknown, info: ErrorInfo) {
    // kept for whoever debugs, without the stack of components (it can be as deep as the bug)
    console.warn(
      'A part of the screen could not be shown:',
      error instanceof Error ? error.message : error,
      info.componentStack?.split('\n').slice(0, 4).join('\n'),
    );
  }

  override render() {
    return this.state.error ? this.props.fallback(this.state.error, () => this.setState({ error: null })) : this.props.children;
  }
}

/** A screen that failed: what happened and the way back. */
export function ScreenError({ retry }: { retry: () => void }) {
  return (
    <div className="card screen-error" role="alert">
      <h2>This screen could not be shown</h2>
      <p>Something in it is malformed. Your streams are safe; the rest of the app works.</p>
      <div className="screen-error-actions">
        <button type="button" className="button" onClick={retry}>
          Try again
        </button>
        <a className="button button-quiet" href="#/">
          Go to Home
        </a>
      </div>
    </div>
  );
}
