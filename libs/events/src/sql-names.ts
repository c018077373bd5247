// Schema names go into SQL text (identifiers cannot be bind parameters), so only plain ones pass.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new Error(`schema must be a lower-case SQL identifier ([a-z_][a-z0-9_]*), got "${schema}"`);
  }
  return schema;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function assertUuid(value: string, what: string): string {
  if (!UUID.test(value)) throw new Error(`${what} must be a uuid, got "${value}"`);
  return value;
}
