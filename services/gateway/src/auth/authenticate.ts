// Bearer API keys and roles: viewer < labeller < admin, each role may do what the ones
// below it may. Missing, unknown or revoked keys → 401; too small a role → 403.
import type { RequestHandler } from 'express';
import { HttpProblem } from '../problem.js';
import type { Role } from '../openapi/schemas.js';
import type { ApiKeyStore } from './api-key-store.js';

const rank: Record<Role, number> = { viewer: 0, labeller: 1, admin: 2 };

const challenge = (error?: string) => ({
  'WWW-Authenticate': error ? `Bearer realm="labelloop", error="${error}"` : 'Bearer realm="labelloop"',
});

export function authenticate(store: ApiKeyStore, needed: Role): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization');
    const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    if (!match) {
      next(
        new HttpProblem(401, 'An API key is required: send `Authorization: Bearer <key>`.', { headers: challenge() }),
      );
      return;
    }
    store.authenticate(match[1]!).then(
      (principal) => {
        if (!principal) {
          next(new HttpProblem(401, 'The API key is unknown or revoked.', { headers: challenge('invalid_token') }));
          return;
        }
        res.locals.principal = principal;
        if (rank[principal.role] < rank[needed]) {
          next(
            new HttpProblem(
              403,
              `This operation needs the ${needed} role; the key '${principal.name}' has the ${principal.role} role.`,
            ),
          );
          return;
        }
        next();
      },
      (err: unknown) => next(err),
    );
  };
}
