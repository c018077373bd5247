// The OpenAPI 3.1 document, generated from the route table and its zod schemas
// (z.toJSONSchema), so every documented path is a registered route and vice versa.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { Route } from '../routes/route.js';
import { Problem } from './schemas.js';

type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, JsonSchema>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

const REF_PREFIX = '#/components/schemas/';

/** Converts zod schemas, moving named ones ($defs) into components.schemas. */
class SchemaCollector {
  readonly schemas: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: Io): JsonSchema {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    // A name already taken by a different shape (input vs output of the same schema) gets a suffix.
    const renames = new Map<string, string>();
    for (const [name, def] of Object.entries(defs)) {
      const existing = this.schemas[name];
      const same = existing === undefined || isDeepStrictEqual(existing, rewrite(def, new Map()));
      renames.set(name, same ? name : `${name}${io === 'input' ? 'Input' : 'Output'}`);
    }
    for (const [name, def] of Object.entries(defs)) this.schemas[renames.get(name)!] = rewrite(def, renames) as JsonSchema;
    return rewrite(json, renames) as JsonSchema;
  }
}

/** Rewrites `#/$defs/X` refs to components (renamed where needed). */
function rewrite(value: unknown, renames: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, renames));
  if (typeof value !== 'object' || value === null) return value;
  const out: JsonSchema = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) {
      const name = v.slice('#/$defs/'.length);
      out[key] = REF_PREFIX + (renames.get(name) ?? name);
    } else {
      out[key] = rewrite(v, renames);
    }
  }
  return out;
}

function parameters(collector: SchemaCollector, schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const object = collector.convert(schema, 'input');
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

const problemContent = (collector: SchemaCollector) => ({
  'application/problem+json': { schema: collector.convert(Problem, 'output') },
});

function operation(collector: SchemaCollector, route: Route): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const content: Record<string, JsonSchema> = {};
    if (spec.schema) content['application/json'] = { schema: collector.convert(spec.schema, 'output') };
    for (const type of spec.binary ?? []) content[type] = { schema: { type: 'string', format: 'binary' } };
    const headers = Object.fromEntries(
      Object.entries(spec.headers ?? {}).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
    );
    responses[status] = {
      description: spec.description,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(Object.keys(content).length > 0 ? { content } : {}),
    };
  }
  const problem = (description: string) => ({ description, content: problemContent(collector) });
  const hasInput = route.params || route.query || route.json || route.multipart;
  if (hasInput) responses['400'] = problem('Invalid request (each bad field or file in `errors`)');
  if (route.access !== 'public') {
    responses['401'] = problem('Missing, unknown or revoked API key');
    responses['403'] = problem(`The key's role is below ${route.access}`);
  }
  if (route.params) responses['404'] = problem('Not found');
  if (route.json || route.multipart) {
    responses['413'] = problem('Body, file or file count over the limit');
    responses['415'] = problem('Wrong Content-Type');
  }
  responses.default = problem('Any other error (409 conflict, 503 unavailable, …)');

  let requestBody: JsonSchema | undefined;
  if (route.json) {
    // An optional body (e.g. starting a training run with the defaults) accepts undefined.
    const required = !route.json.safeParse(undefined).success;
    requestBody = { required, content: { 'application/json': { schema: collector.convert(route.json, 'input') } } };
  } else if (route.multipart) {
    requestBody = {
      required: true,
      description: route.multipart.description,
      content: { 'multipart/form-data': { schema: collector.convert(route.multipart.schema, 'input') } },
    };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security: route.access === 'public' ? [] : [{ bearer: [] }],
    'x-labelloop-role': route.access,
    parameters: [...parameters(collector, route.params, 'path'), ...parameters(collector, route.query, 'query')],
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

export function buildOpenApiDocument(routes: readonly Route[]): OpenApiDocument {
  const collector = new SchemaCollector();
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method] = operation(collector, route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'labelloop gateway',
      version: '1.0.0',
      description:
        'REST API of labelloop: datasets, uploads, imports, labelling, exports, training runs, models, ' +
        'API keys. Errors are ' +
        'application/problem+json (RFC 9457). Authenticate with `Authorization: Bearer <API key>`.',
    },
    paths,
    components: {
      schemas: collector.schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key (llk_…) created by an admin.' },
      },
    },
  };
}
