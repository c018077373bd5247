-- API keys of the REST gateway. Keys are high-entropy random strings, so a plain SHA-256
-- (hex) is enough to store them; the secret itself is never stored.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  role text NOT NULL CHECK (role IN ('admin', 'labeller', 'viewer')),
  key_hash text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

-- Start-up seeding asks "is there an active admin key?".
CREATE INDEX api_keys_active_role ON api_keys (role) WHERE revoked_at IS NULL;
