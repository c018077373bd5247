import type { Logger } from '@labelloop/common';
import {
  connect,
  DebugEvents,
  DiscardPolicy,
  Events,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type NatsConnection,
  type StreamInfo,
} from 'nats';

export interface ConnectNatsOptions {
  /** One URL or a comma-separated list, e.g. nats://127.0.0.1:4222. */
  url: string;
  /** Connection name shown by the server (`nats server report connections`). */
  name: string;
  logger: Logger;
  /**
   * Keep trying when the first connect fails instead of throwing. Off by default so a
   * wrong URL fails start-up loudly; once connected, reconnects never give up.
   */
  waitOnFirstConnect?: boolean;
}

export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const { logger } = options;
  const servers = options.url.split(',').map((s) => s.trim()).filter(Boolean);
  if (servers.length === 0) throw new Error('NATS url is empty');
  const nc = await connect({
    servers,
    name: options.name,
    // An outage must only delay events: reconnect forever, about once a second.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    reconnectJitter: 200,
    waitOnFirstConnect: options.waitOnFirstConnect ?? false,
  });
  logger.info({ server: nc.getServer(), name: options.name }, 'nats connected');
  void logStatus(nc, logger);
  void nc.closed().then((err) => {
    if (err) logger.error({ err }, 'nats connection closed with error');
    else logger.info({ name: options.name }, 'nats connection closed');
  });
  return nc;
}

async function logStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const s of nc.status()) {
    const data = typeof s.data === 'string' || typeof s.data === 'number' ? s.data : undefined;
    switch (s.type) {
      case Events.Disconnect:
        logger.warn({ server: data }, 'nats disconnected');
        break;
      case Events.Reconnect:
        logger.info({ server: data }, 'nats reconnected');
        break;
      case Events.Error:
        logger.error({ err: s.data }, 'nats async error');
        break;
      case Events.LDM:
        logger.warn({ server: data }, 'nats server entering lame duck mode');
        break;
      case DebugEvents.Reconnecting:
        logger.debug({ server: data }, 'nats reconnecting');
        break;
      default:
        logger.debug({ type: s.type }, 'nats status');
    }
  }
}

export interface EnsureStreamOptions {
  name: string;
  /** E.g. ['labelloop.>']. */
  subjects: string[];
  /** How long the stream keeps messages, in milliseconds; default 7 days, 0 keeps them forever. */
  maxAge?: number;
}

const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
// Publishers retry with the same Nats-Msg-Id; the server drops repeats inside this window.
const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;
const JS_STREAM_NOT_FOUND = 10059;

/** Creates the stream, or brings an existing one to this configuration. Safe to call on every start. */
export async function ensureStream(jsm: JetStreamManager, options: EnsureStreamOptions): Promise<StreamInfo> {
  if (options.subjects.length === 0) throw new Error('a stream needs at least one subject');
  const wanted = {
    subjects: options.subjects,
    max_age: nanos(options.maxAge ?? DEFAULT_MAX_AGE_MS),
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
  const existing = await findStream(jsm, options.name);
  if (!existing) {
    return jsm.streams.add({
      name: options.name,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      ...wanted,
    });
  }
  const cfg = existing.config;
  const same =
    cfg.max_age === wanted.max_age &&
    cfg.duplicate_window === wanted.duplicate_window &&
    cfg.subjects.length === wanted.subjects.length &&
    cfg.subjects.every((s, i) => s === wanted.subjects[i]);
  if (same) return existing;
  return jsm.streams.update(options.name, { ...cfg, ...wanted });
}

/** The JetStream API error code inside a nats error, if any. */
export function apiErrorCode(err: unknown): number | undefined {
  const apiError = (err as { api_error?: { err_code?: number } } | null)?.api_error;
  return apiError?.err_code;
}

/** The stream's info, or undefined when no stream has that name (other errors are thrown). */
export async function findStream(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (apiErrorCode(err) !== JS_STREAM_NOT_FOUND) throw err;
    return undefined;
  }
}
