// Rate limits: per API key (by key id) for authenticated requests, per client IP for requests
// without a valid key (so guessing keys is slow too). In memory, fixed one-minute windows
// (rate-limiter-flexible): each gateway replica counts on its own, so with N replicas a key may
// make up to N × the limit. Public routes (probes, metrics, the OpenAPI document, the web app's
// files) are not limited. 0 turns a limit off.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { HttpProblem } from '../problem.js';

export interface RateLimitOptions {
  /** Requests per minute per API key; 0: unlimited. */
  perKeyPerMinute: number;
  /** Requests per minute per client IP without a valid key; 0: unlimited. */
  anonymousPerMinute: number;
}

export class RateLimits {
  private readonly perKey: RateLimiterMemory | undefined;
  private readonly anonymous: RateLimiterMemory | undefined;

  constructor(readonly options: RateLimitOptions) {
    if (options.perKeyPerMinute > 0) this.perKey = new RateLimiterMemory({ points: options.perKeyPerMinute, duration: 60 });
    if (options.anonymousPerMinute > 0) {
      this.anonymous = new RateLimiterMemory({ points: options.anonymousPerMinute, duration: 60 });
    }
  }

  /** Counts one request of the key; 429 problem once its minute's budget is spent. */
  consumeKey(keyId: string): Promise<RateLimitState | undefined> {
    return consume(this.perKey, keyId, 'this API key');
  }

  /** Counts one request without a valid key from `ip`; 429 once the budget is spent. */
  consumeAnonymous(ip: string): Promise<RateLimitState | undefined> {
    return consume(this.anonymous, ip, 'requests without a valid API key from this address');
  }
}

export interface RateLimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/** Headers describing the caller's budget (draft-ietf-httpapi-ratelimit-headers' names). */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetSeconds),
  };
}

async function consume(limiter: RateLimiterMemory | undefined, key: string, who: string): Promise<RateLimitState | undefined> {
  if (!limiter) return undefined;
  try {
    const res = await limiter.consume(key);
    return { limit: limiter.points, remaining: res.remainingPoints, resetSeconds: Math.ceil(res.msBeforeNext / 1000) };
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw new HttpProblem(429, `Too many requests: ${who} may make ${limiter.points} per minute; retry in ${retryAfter} s.`, {
      headers: {
        'Retry-After': String(retryAfter),
        ...rateLimitHeaders({ limit: limiter.points, remaining: 0, resetSeconds: retryAfter }),
      },
    });
  }
}
