// A token bucket: how the network code bounds what others can make it do per second (packets
// taken in from one address, pulls an announcement may start, checks of nearby streams).

export interface RateLimit {
  burst: number;
  perSecond: number;
}

/** At most `burst` at once, refilled at `perSecond`; `take` spends one if there is one. */
export class TokenBucket {
  tokens: number;
  last: number;
  constructor(
    readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.last = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) / 1000) * this.limit.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
