-- Optional dataset scope of an API key: NULL = every dataset; otherwise the key sees and acts on
-- these datasets only (listing filters, any other dataset answers 404, global operations 403).
ALTER TABLE api_keys ADD COLUMN datasets uuid[];
