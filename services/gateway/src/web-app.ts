// The labelling web app: the static files Vite builds into dist/public, served at `/` beside the
// API. Hashed assets are cached for good, index.html is revalidated every time (it names the
// current hashes), and any other page path of the app (e.g. /datasets/<id>/review) gets index.html
// so the client-side router can take over. The API's paths are never answered here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@labelloop/common';
import express, { type RequestHandler, type Response } from 'express';
import { HttpProblem } from './problem.js';

/** dist/public of this package, from src/ (tests, tsx) as from dist/ (built). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../dist/public', import.meta.url));

/** Same-origin only. blob: images are the item images the app fetches with its API key. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
export const REVALIDATE_CACHE = 'no-cache';

/** Paths of the API and the operational endpoints: never files, never the app's fallback page. */
const API_PATH = /^\/(?:v1(?:\/|$)|openapi\.json$|healthz$|readyz$|metrics$)/;

/** Route label of the HTTP metrics for everything the web app serves (files are not routes). */
export const WEB_APP_ROUTE = 'web-app';

function securityHeaders(res: Response): void {
  res.locals.route = WEB_APP_ROUTE;
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
}

/**
 * Middleware for the web app under `root` (Vite's outDir). Registered after the API routes and
 * before the 404 handler: what it does not serve falls through to the API's problem+json 404.
 */
export function webApp(root: string, logger: Logger): RequestHandler[] {
  const indexFile = join(root, 'index.html');
  if (!existsSync(indexFile)) {
    logger.warn({ root }, 'web app not built: `npm run build -w @labelloop/gateway` builds it; the API works without it');
  }
  const assetsDir = join(root, 'assets');
  const files = express.static(root, {
    index: false,
    redirect: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders: (res, path) => {
      securityHeaders(res);
      // Vite names everything under assets/ by content hash.
      res.setHeader('Cache-Control', path.startsWith(assetsDir) ? IMMUTABLE_CACHE : REVALIDATE_CACHE);
    },
  });
  const onlyAppPaths: RequestHandler = (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || API_PATH.test(req.path)) {
      next();
      return;
    }
    files(req, res, next);
  };
  // A page of the client-side router: a path without a file extension, asked for as HTML.
  const fallback: RequestHandler = (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || API_PATH.test(req.path)) return next();
    if (/\.[^/]*$/.test(req.path) || !req.accepts('html')) return next();
    if (!existsSync(indexFile)) {
      next(new HttpProblem(404, 'The web app is not built on this server: `npm run build -w @labelloop/gateway` builds it.'));
      return;
    }
    securityHeaders(res);
    res.setHeader('Cache-Control', REVALIDATE_CACHE);
    res.sendFile(indexFile, { cacheControl: false }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  };
  return [onlyAppPaths, fallback];
}
