// The arithmetic and the printing of `bench lan`: medians, the fitted exponent of a figure over
// the sizes, and the readable table with each figure beside its goal (issue 17, "A busy LAN").

/** One size's figures (null: not measured, e.g. nothing arrived). */
export interface SizeFigures {
  n: number;
  /** s from the follows until every node holds every stream's first post */
  converge_s: number | null;
  /** share of the N·(N−1) first posts held when the wait ended */
  converged_share: number;
  /** follow calls (one per stream, each node's one after another) still unanswered 30 s after convergence */
  follows_unanswered: number;
  one_post_median_ms: number | null;
  one_post_max_ms: number | null;
  /** one post → followers that never got it within the wait */
  one_post_missing: number;
  burst_within_1s: number;
  burst_within_2s: number;
  burst_median_ms: number | null;
  burst_max_ms: number | null;
  burst_missing: number;
  /** CPU of all nodes from the burst's posts until the last arrival, per delivery (ms) */
  burst_cpu_ms_per_delivery: number;
  /** multicast bytes heard over the whole run (the idle figure counts the idle window only) */
  multicast_bytes_total: number;
  idle_window_s: number;
  /** share of the first and burst posts held everywhere when the idle window began (below 1: still syncing) */
  idle_caught_up: number;
  /** HTTP requests received by all nodes' servers, a minute */
  idle_requests_per_min: number;
  /** the same per followed stream (N·(N−1) follows LAN-wide): flat when requests are linear in follows */
  idle_requests_per_min_per_follow: number;
  /** CPU of a node process (all its threads), mean over the nodes, s a minute */
  idle_cpu_s_per_min: number;
  idle_cpu_s_per_min_max: number;
  /** discovery multicast heard by a passive socket in the namespace, UDP payload */
  multicast_bytes_per_s: number;
  multicast_packets_per_s: number;
  follow_tries: number;
  /** share of fresh follows that came back without the stream's posts */
  follow_empty_share: number;
  follow_median_ms: number | null;
  /** HTTP requests all nodes' servers received from start to the end of the idle window */
  requests_total: number;
  rss_mb_per_node: number;
  load_start: number;
  load_end: number;
}

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Least-squares slope of log(y) over log(n): y ∝ n^slope. null with fewer than two usable points. */
export function fittedExponent(points: { n: number; y: number | null }[]): number | null {
  const ok = points.filter((p): p is { n: number; y: number } => p.y !== null && p.y > 0 && Number.isFinite(p.y));
  if (ok.length < 2 || new Set(ok.map((p) => p.n)).size < 2) return null;
  const xs = ok.map((p) => Math.log(p.n));
  const ys = ok.map((p) => Math.log(p.y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return round(num / den, 2);
}

/** The figures whose growth with N the issue asks about, with the exponent each may reach. */
export const FITTED: { key: keyof SizeFigures; goal: string; max?: number; nearZero?: (s: SizeFigures) => boolean }[] = [
  // no slope can be fitted through zeros: a figure that is about nothing at every size meets its goal
  { key: 'idle_requests_per_min', goal: '≤ 2 (linear in the N·(N−1) follows)', max: 2.2, nearZero: (s) => s.idle_requests_per_min_per_follow <= 0.05 },
  { key: 'idle_requests_per_min_per_follow', goal: '≈ 0 (not growing with holders)', max: 0.2, nearZero: (s) => s.idle_requests_per_min_per_follow <= 0.05 },
  { key: 'idle_cpu_s_per_min', goal: '≤ 1 (linear in the N−1 streams a node follows)', max: 1.2 },
  { key: 'multicast_bytes_per_s', goal: '≤ 1 (linear in N)', max: 1.2 },
  { key: 'converge_s', goal: 'as low as it gets (40 nodes ≤ 15 s)' },
  { key: 'one_post_median_ms', goal: 'as low as it gets (≤ 200 ms at 40)' },
  { key: 'one_post_max_ms', goal: '' },
  { key: 'burst_median_ms', goal: '' },
  { key: 'idle_cpu_s_per_min_max', goal: '' },
];

export function exponents(sizes: SizeFigures[]): Record<string, { exponent: number | null; goal: string; meets?: boolean }> {
  const out: Record<string, { exponent: number | null; goal: string; meets?: boolean }> = {};
  for (const f of FITTED) {
    const exponent = fittedExponent(sizes.map((s) => ({ n: s.n, y: s[f.key] as number | null })));
    if (f.nearZero && sizes.length > 1 && sizes.every(f.nearZero))
      out[f.key] = { exponent, goal: `${f.goal}; ≤ 0.05 a followed stream at every size`, meets: true };
    else out[f.key] = { exponent, goal: f.goal, ...(f.max !== undefined && exponent !== null ? { meets: exponent <= f.max } : {}) };
  }
  return out;
}

/** Each size's goals, as the issue states them (the 40-node ones apply at every size as an upper bound). */
export function goalsMet(s: SizeFigures): Record<string, boolean> {
  return {
    'converge ≤ 15 s': s.converge_s !== null && s.converge_s <= 15,
    'one post median ≤ 200 ms': s.one_post_median_ms !== null && s.one_post_median_ms <= 200,
    'all post at once: ≥ 95% within 2 s': s.burst_within_2s >= 0.95,
    'a fresh follow never comes back empty': s.follow_empty_share === 0,
  };
}

const fmt = (x: number | null, unit = '', digits = 0): string => (x === null ? '—' : `${round(x, digits).toLocaleString('en')}${unit}`);
const pct = (x: number): string => `${round(x * 100, 1)}%`;

/** The readable table: one row per figure, one column per size, the goal last. */
export function table(sizes: SizeFigures[], exps: ReturnType<typeof exponents>): string {
  const rows: [string, (s: SizeFigures) => string, string][] = [
    ['converged (all first posts held)', (s) => (s.converge_s === null ? `no (${pct(s.converged_share)})` : fmt(s.converge_s, ' s', 1)), '≤ 15 s at 40'],
    ['follow calls unanswered 30 s later', (s) => String(s.follows_unanswered), '0'],
    ['one post → all followers, median', (s) => fmt(s.one_post_median_ms, ' ms'), '≤ 200 ms'],
    ['one post → all followers, max', (s) => fmt(s.one_post_max_ms, ' ms') + (s.one_post_missing ? ` (${s.one_post_missing} missing)` : ''), ''],
    ['all post at once: within 1 s', (s) => pct(s.burst_within_1s), ''],
    ['all post at once: within 2 s', (s) => pct(s.burst_within_2s), '≥ 95%'],
    ['all post at once: median / max', (s) => `${fmt(s.burst_median_ms, ' ms')} / ${fmt(s.burst_max_ms, ' ms')}`, ''],
    ['all post at once: never arrived', (s) => String(s.burst_missing), '0'],
    ['all post at once: CPU a delivery, all nodes', (s) => `${s.burst_cpu_ms_per_delivery} ms`, ''],
    ['idle window began with the LAN caught up', (s) => pct(s.idle_caught_up), '100%'],
    ['idle HTTP requests a minute, all nodes', (s) => fmt(s.idle_requests_per_min), 'exponent ≤ 2'],
    ['  … per followed stream', (s) => fmt(s.idle_requests_per_min_per_follow, '', 2), 'flat'],
    ['idle CPU per node (mean / max)', (s) => `${fmt(s.idle_cpu_s_per_min, '', 2)} / ${fmt(s.idle_cpu_s_per_min_max, '', 2)} s/min`, 'exponent ≤ 1'],
    ['multicast, LAN-wide', (s) => `${fmt(s.multicast_bytes_per_s)} B/s (${fmt(s.multicast_packets_per_s, '', 1)} pkt/s)`, 'exponent ≤ 1'],
    ['fresh follow of a new stream came back empty', (s) => `${pct(s.follow_empty_share)} of ${s.follow_tries}`, '0%'],
    ['fresh follow, median time', (s) => fmt(s.follow_median_ms, ' ms'), ''],
    ['RSS per node', (s) => fmt(s.rss_mb_per_node, ' MB'), ''],
    ['load average start → end', (s) => `${s.load_start} → ${s.load_end}`, ''],
  ];
  const head = ['figure', ...sizes.map((s) => `N = ${s.n}`), 'goal'];
  const body = rows.map(([name, f, goal]) => [name, ...sizes.map(f), goal]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  out.push('', 'fitted exponent (least-squares slope of log figure over log N):');
  for (const [k, v] of Object.entries(exps)) {
    out.push(
      `  ${k.padEnd(34)} ${v.exponent === null ? '—' : v.exponent.toFixed(2).padStart(6)}  ${v.goal}${v.meets === undefined ? '' : v.meets ? '  (met)' : '  (MISSED)'}`,
    );
  }
  return out.join('\n');
}
