// Bearer API keys and roles: viewer < labeller < admin, each role may do what the ones
// below it may. Missing, unknown or revoked keys → 401; too small a role → 403. With rate
// limits: a valid key spends its own budget, a request without one its IP's (then 429).
import type { RequestHandler } from 'express';
import { HttpProblem } from '../problem.js';
import type { Role } from '../openapi/schemas.js';
import type { ApiKeyStore } from './api-key-store.js';
import { rateLimitHeaders, type RateLimits } from './rate-limit.js';

const rank: Record<Role, number> = { viewer: 0, labeller: 1, admin: 2 };

const challenge = (error?: string) => ({
  'WWW-Authenticate': error ? `Bearer realm="labelloop", error="${error}"` : 'Bearer realm="labelloop"',
});

export function authenticate(store: ApiKeyStore, needed: Role, limits?: RateLimits): RequestHandler {
  return (req, res, next) => {
    const refuse = async (problem: HttpProblem) => {
      // Counted per address before answering, so key guessing runs into 429 as well.
      await limits?.consumeAnonymous(req.ip ?? req.socket.remoteAddress ?? 'unknown');
      throw problem;
    };
    const check = async () => {
      const header = req.get('authorization');
      const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
      if (!match) {
        return refuse(
          new HttpProblem(401, 'An API key is required: send `Authorization: Bearer <key>`.', { headers: challenge() }),
        );
      }
      const principal = await store.authenticate(match[1]!);
      if (!principal) {
        return refuse(new HttpProblem(401, 'The API key is unknown or revoked.', { headers: challenge('invalid_token') }));
      }
      res.locals.principal = principal;
      const budget = await limits?.consumeKey(principal.id);
      if (budget) for (const [name, value] of Object.entries(rateLimitHeaders(budget))) res.setHeader(name, value);
      if (rank[principal.role] < rank[needed]) {
        throw new HttpProblem(
          403,
          `This operation needs the ${needed} role; the key '${principal.name}' has the ${principal.role} role.`,
        );
      }
    };
    check().then(() => next(), next);
  };
}
