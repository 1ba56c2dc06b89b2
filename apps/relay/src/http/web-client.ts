import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RelayConfig } from '../config/config.schema.js';

/**
 * The web client's Content-Security-Policy: no inline script, no third-party origin, WebSocket
 * only to this relay. The share key lives in the URL fragment, which is never sent to us, and
 * `Referrer-Policy: no-referrer` keeps the path out of other sites' logs too.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/** Where `npm run build` puts the web client, relative to the built relay. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/** Where the page fetches what it should know before connecting: {@link pageConfig}. */
export const PAGE_CONFIG_PATH = '/hush-config.json';

/**
 * What the web client learns before any connection: where other devices reach this relay (for
 * join links and QR codes when the page was opened on localhost) and the limits its forms need.
 */
export function pageConfig(config: RelayConfig): Record<string, unknown> {
  return {
    publicUrl: config.server.publicUrl ?? null,
    limits: {
      nameMaxCodePoints: config.limits.nameMaxCodePoints,
      maxExpirySeconds: config.limits.maxExpirySeconds,
    },
  };
}

/** Security headers on every HTTP response, and the built web client at `/` when present. */
export function serveWebClient(
  app: NestExpressApplication,
  options: { webRoot: string | undefined; hsts: boolean; page: Record<string, unknown> },
): string | undefined {
  const { webRoot, hsts: tls } = options;
  const pageJson = JSON.stringify(options.page);
  const express = app.getHttpAdapter().getInstance();
  express.disable('x-powered-by');
  app.use((_request: Request, response: Response, next: NextFunction) => {
    response.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    response.setHeader('X-Frame-Options', 'DENY');
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    response.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (tls) response.setHeader('Strict-Transport-Security', 'max-age=31536000');
    next();
  });
  app.use(PAGE_CONFIG_PATH, (request: Request, response: Response, next: NextFunction) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      next();
      return;
    }
    response.setHeader('Cache-Control', 'no-store');
    response.type('application/json').send(pageJson);
  });
  const root = webRoot ?? DEFAULT_WEB_ROOT;
  if (!existsSync(join(root, 'index.html'))) return undefined;
  app.useStaticAssets(root, { index: 'index.html', maxAge: '1h', fallthrough: true });
  return root;
}
