// API keys in gateway.api_keys: `llk_` + 32 random bytes (base64url), stored only as their
// SHA-256. Lookups by hash go through a short cache; revoking on this instance drops the
// key from it at once (other replicas notice within the cache's TTL).
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
}

interface ApiKeyRow {
  id: string;
  name: string;
  role: Role;
  key_hash: string;
  created_at: Date;
  revoked_at: Date | null;
}

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return { id: row.id, name: row.name, role: row.role, createdAt: row.created_at, revokedAt: row.revoked_at };
}

const COLUMNS = 'id, name, role, key_hash, created_at, revoked_at';

/** Inserts a key row; used by the store and by start-up seeding inside its transaction. */
export async function insertApiKey(db: Queryable, name: string, role: Role, keyHash: string): Promise<ApiKeyRecord> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO gateway.api_keys (id, name, role, key_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [randomUUID(), name, role, keyHash],
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

  /** A new key; the secret is returned here and nowhere else. */
  async create(name: string, role: Role): Promise<{ record: ApiKeyRecord; key: string }> {
    const key = generateApiKey();
    const record = await insertApiKey(this.db, name, role, hashApiKey(key));
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
