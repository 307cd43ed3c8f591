// Loading states drawn as the thing that is coming: the app shell while the first API calls run
// (the same markup index.html paints before any script, so React takes over without a jump), and
// a stream header's skeleton.

/** Keep in step with the static shell in index.html. */
export function BootShell() {
  return (
    <div className="shell boot-shell" aria-busy="true">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">Drayer</span>
        </div>
        <span className="sk boot-nav" />
        <span className="sk boot-nav" />
        <span className="sk boot-nav" />
      </nav>
      <main className="main">
        <header className="page-head">
          <span className="sk boot-title" />
        </header>
        <p className="visually-hidden" role="status">
          Loading Drayer…
        </p>
        {[0, 1, 2].map((i) => (
          <div key={i} className="card post skeleton">
            <span className="sk sk-avatar" />
            <div className="sk-lines">
              <span className="sk sk-line w30" />
              <span className="sk sk-line w90" />
              <span className="sk sk-line w70" />
            </div>
          </div>
        ))}
      </main>
      <aside className="rail" aria-hidden="true">
        <div className="rail-section boot-rail">
          <span className="sk sk-line w30" />
          <span className="sk boot-qr" />
        </div>
      </aside>
    </div>
  );
}

/** A stream page's header before its summary arrives. */
export function ProfileSkeleton() {
  return (
    <div aria-busy="true" aria-label="Loading">
      <div className="card sk-profile">
        <span className="sk sk-avatar-lg" />
        <span className="sk sk-title" />
        <span className="sk sk-line w70" />
        <span className="sk sk-line w30" />
      </div>
    </div>
  );
}
