// Start-up seeding: a gateway must never run without a way in. With LABELLOOP_ADMIN_KEY
// that key is made an active admin key; without it, and without any active admin key,
// one is generated and printed once to stdout (never logged).
import type { Logger } from '@labelloop/common';
import type { Database } from '@labelloop/storage';
import { generateApiKey, hashApiKey, insertApiKey } from './api-key-store.js';

export const ADMIN_KEY_NAME = 'admin';
export const ADMIN_KEY_BANNER = 'labelloop admin API key (shown once):';

export type SeedOutcome = 'configured-created' | 'configured-present' | 'configured-reactivated' | 'generated' | 'existing';

export interface SeedAdminKeyOptions {
  /** LABELLOOP_ADMIN_KEY, if set. */
  adminKey?: string | undefined;
  /** Where the generated key's line goes; main passes a write to process.stdout. */
  print: (line: string) => void;
  logger?: Logger;
}

export async function seedAdminKey(db: Database, options: SeedAdminKeyOptions): Promise<SeedOutcome> {
  const { adminKey, logger } = options;
  let generated: string | undefined;
  const outcome = await db.transaction(async (tx): Promise<SeedOutcome> => {
    // Replicas starting together must not each generate a key.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('gateway.seed_admin_key'))`);
    if (adminKey !== undefined) {
      const hash = hashApiKey(adminKey);
      const { rows } = await tx.query<{ role: string; revoked_at: Date | null }>(
        'SELECT role, revoked_at FROM gateway.api_keys WHERE key_hash = $1',
        [hash],
      );
      const row = rows[0];
      if (!row) {
        await insertApiKey(tx, ADMIN_KEY_NAME, 'admin', hash);
        return 'configured-created';
      }
      if (row.role === 'admin' && row.revoked_at === null) return 'configured-present';
      // The operator says this key is the admin key: that wins over an earlier revoke.
      await tx.query(`UPDATE gateway.api_keys SET role = 'admin', revoked_at = NULL WHERE key_hash = $1`, [hash]);
      return 'configured-reactivated';
    }
    const active = await tx.query(`SELECT 1 FROM gateway.api_keys WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1`);
    if (active.rowCount > 0) return 'existing';
    generated = generateApiKey();
    await insertApiKey(tx, ADMIN_KEY_NAME, 'admin', hashApiKey(generated));
    return 'generated';
  });
  // Printed only after the commit: a key shown to the operator must exist.
  if (generated !== undefined) options.print(`${ADMIN_KEY_BANNER} ${generated}`);
  logger?.info({ outcome }, 'admin API key checked');
  return outcome;
}
