// API keys in gateway.api_keys: `llk_` + 32 random bytes (base64url), stored only as their
// SHA-256. Lookups by hash go through a short cache; revoking on this instance drops the
// key from it at once (other replicas notice within the cache's TTL).
//
// Why checking a key is constant-time: the presented key is hashed first and only the hash is
// looked up (an index probe on key_hash) and compared (timingSafeEqual). How long either takes
// depends on the SHA-256 of the guess, which an attacker cannot steer towards a stored hash, so
// timing reveals nothing about how many characters of a real key a guess got right.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '@labelloop/storage';
import type { Role } from '../openapi/schemas.js';

export const API_KEY_PREFIX = 'llk_';
/** Longest presented key looked up at all; longer ones are refused without a query. */
export const MAX_API_KEY_LENGTH = 256;

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
  revokedAt: Date | null;
  /** Dataset ids the key is limited to; null: every dataset. */
  datasets: string[] | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  role: Role;
  key_hash: string;
  created_at: Date;
  revoked_at: Date | null;
  datasets: string[] | null;
}

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    datasets: row.datasets,
  };
}

const COLUMNS = 'id, name, role, key_hash, created_at, revoked_at, datasets';

/** Inserts a key row; used by the store and by start-up seeding inside its transaction. */
export async function insertApiKey(
  db: Queryable,
  name: string,
  role: Role,
  keyHash: string,
  datasets: readonly string[] | null = null,
): Promise<ApiKeyRecord> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO gateway.api_keys (id, name, role, key_hash, datasets) VALUES ($1, $2, $3, $4, $5::uuid[]) RETURNING ${COLUMNS}`,
    [randomUUID(), name, role, keyHash, datasets === null ? null : [...new Set(datasets)]],
  );
  return toRecord(rows[0]!);
}

export interface ApiKeyStoreOptions {
  /** How long a successful lookup is reused; default 30 s. */
  cacheTtlMs?: number;
  now?: () => number;
}

export class ApiKeyStore {
  private readonly cache = new Map<string, { record: ApiKeyRecord; expiresAt: number }>();
  private readonly cacheTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Queryable,
    options: ApiKeyStoreOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** A new key (limited to `datasets` when given); the secret is returned here and nowhere else. */
  async create(name: string, role: Role, datasets: readonly string[] | null = null): Promise<{ record: ApiKeyRecord; key: string }> {
    const key = generateApiKey();
    const record = await insertApiKey(this.db, name, role, hashApiKey(key), datasets);
    return { record, key };
  }

  async list(): Promise<ApiKeyRecord[]> {
    const { rows } = await this.db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM gateway.api_keys ORDER BY created_at, id`);
    return rows.map(toRecord);
  }

  /** Revokes the key (idempotent); undefined when there is no such key. */
  async revoke(id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.db.query<ApiKeyRow>(
      `UPDATE gateway.api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
    for (const [hash, entry] of this.cache) if (entry.record.id === id) this.cache.delete(hash);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** The active key matching `presented`, or undefined (unknown or revoked). */
  async authenticate(presented: string): Promise<ApiKeyRecord | undefined> {
    if (presented.length === 0 || presented.length > MAX_API_KEY_LENGTH) return undefined;
    const hash = hashApiKey(presented);
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > this.now()) return cached.record;
    this.cache.delete(hash);

    const { rows } = await this.db.query<ApiKeyRow>(
      `SELECT ${COLUMNS} FROM gateway.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    // The index lookup already matched; the constant-time compare keeps the final decision
    // independent of how many leading characters agree.
    if (!row || !timingSafeEqual(Buffer.from(row.key_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
    const record = toRecord(row);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(hash, { record, expiresAt: this.now() + this.cacheTtlMs });
    return record;
  }
}
