// The route table's entry type. Every REST operation is one `defineRoute({...})`: express
// registers it and the OpenAPI document is generated from it, with the same zod schemas
// validating params, query and body.
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { ApiKeyRecord } from '../auth/api-key-store.js';
import type { Role } from '../openapi/schemas.js';

export type Access = 'public' | Role;
export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

export interface ResponseSpec {
  description: string;
  /** JSON body (application/json, or contentType when set). */
  schema?: z.ZodType;
  /** Media types of a non-JSON body (downloads, images); documented as binary. */
  binary?: string[];
  /** Response header name → description. */
  headers?: Record<string, string>;
}

export interface MultipartSpec {
  /** Documents the form's parts; the handler streams them with busboy. */
  schema: z.ZodType;
  description: string;
}

type Schema = z.ZodType;
type Out<S> = S extends Schema ? z.output<S> : undefined;

export interface RouteContext<P, Q, B> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  /** The caller's key (undefined on public routes). */
  principal: ApiKeyRecord | undefined;
}

export interface RouteSpec<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined> {
  method: HttpMethod;
  /** OpenAPI path template, e.g. /v1/datasets/{id}. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  /** A JSON request body, parsed with the MAX_JSON_BYTES limit. */
  json?: B;
  multipart?: MultipartSpec;
  /** Success responses; problem responses (4xx/5xx) are added by the document generator. */
  responses: Record<number, ResponseSpec>;
  handler: (ctx: RouteContext<Out<P>, Out<Q>, Out<B>>) => Promise<void>;
}

/** A route with its schema types erased, as the table holds them. */
export type Route = RouteSpec<any, any, any>;

export function defineRoute<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): Route {
  return spec as Route;
}

/** /v1/items/{id}/image → /v1/items/:id/image (in express 5 `{…}` means optional). */
export function toExpressPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

/** The principal of an authenticated route; a route table bug when absent. */
export function actorOf(principal: ApiKeyRecord | undefined): string {
  if (!principal) throw new Error('route needs a principal but is public');
  return principal.name;
}
