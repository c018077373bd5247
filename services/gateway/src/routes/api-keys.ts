// API keys (admin): create (the secret is in this one response), list (no secrets), revoke;
// and GET /v1/me (any role): who the caller's key is, so a client (the web app) can adapt to its role.
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import type { ApiKeyRecord } from '../auth/api-key-store.js';
import { ApiKeyIdParams, CreateApiKeyBody } from '../openapi/requests.js';
import { ApiKey, ApiKeyCreated, ApiKeyList, roles, type ApiKeyJson } from '../openapi/schemas.js';
import { HttpProblem } from '../problem.js';
import { defineRoute, type Route } from './route.js';

export const Principal = z
  .object({
    name: z.string().meta({ description: 'The key’s name, recorded as the actor of its labels.' }),
    role: z.enum(roles),
  })
  .meta({ id: 'Principal' });

function toJson(record: ApiKeyRecord): ApiKeyJson {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    createdAt: record.createdAt.toISOString(),
    revokedAt: record.revokedAt ? record.revokedAt.toISOString() : null,
    ...(record.datasets ? { datasets: record.datasets } : {}),
  };
}

export function apiKeyRoutes({ apiKeys, dataset, logger }: AppDeps): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/me',
      operationId: 'whoAmI',
      summary: 'The caller’s key: its name and role',
      tag: 'api-keys',
      access: 'viewer',
      responses: { 200: { description: 'The key that made the request', schema: Principal } },
      handler: async ({ res, principal }) => {
        if (!principal) throw new Error('GET /v1/me needs a principal');
        res.json({ name: principal.name, role: principal.role });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/api-keys',
      operationId: 'createApiKey',
      summary: 'Create an API key',
      description: 'The key is returned once, in this response; only its hash is stored.',
      tag: 'api-keys',
      access: 'admin',
      json: CreateApiKeyBody,
      responses: {
        201: { description: 'Created', schema: ApiKeyCreated, headers: { Location: 'URL of the key' } },
      },
      handler: async ({ res, body, principal }) => {
        const scope = body.datasets ? [...new Set(body.datasets.map((id) => id.toLowerCase()))] : null;
        if (scope) await requireDatasets(dataset, scope);
        const { record, key } = await apiKeys.create(body.name, body.role, scope);
        logger.info(
          { keyId: record.id, keyName: record.name, role: record.role, datasets: record.datasets, by: principal?.name },
          'api key created',
        );
        res
          .status(201)
          .location(`/v1/api-keys/${record.id}`)
          .json({ ...toJson(record), key });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/api-keys',
      operationId: 'listApiKeys',
      summary: 'List API keys (without secrets)',
      tag: 'api-keys',
      access: 'admin',
      responses: { 200: { description: 'Every key, revoked ones included', schema: ApiKeyList } },
      handler: async ({ res }) => {
        res.json({ apiKeys: (await apiKeys.list()).map(toJson) });
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/api-keys/{id}',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      description: 'The key is refused (401) from now on. Revoking twice is harmless.',
      tag: 'api-keys',
      access: 'admin',
      params: ApiKeyIdParams,
      responses: { 200: { description: 'The revoked key', schema: ApiKey } },
      handler: async ({ res, params, principal }) => {
        const record = await apiKeys.revoke(params.id);
        if (!record) throw new HttpProblem(404, `There is no API key ${params.id}.`);
        logger.info({ keyId: record.id, keyName: record.name, by: principal?.name }, 'api key revoked');
        res.json(toJson(record));
      },
    }),
  ];
}

/** A scoped key may name only datasets that exist (400 naming the others). */
async function requireDatasets(dataset: AppDeps['dataset'], wanted: string[]): Promise<void> {
  const { datasets } = await dataset.listDatasets(1000, undefined, { ids: wanted });
  const found = new Set(datasets.map((d) => d.id));
  const missing = wanted.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw new HttpProblem(400, `There is no dataset ${missing[0]}.`, {
      errors: missing.map((id) => ({ path: 'body.datasets', code: 'unknown_dataset', reason: `there is no dataset ${id}` })),
    });
  }
}
