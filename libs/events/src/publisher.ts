import type { JetStreamClient, NatsConnection } from 'nats';

export interface PublishResult {
  stream: string;
  seq: number;
  /** True when the server had already stored a message with this id (within the duplicate window). */
  duplicate: boolean;
}

/** Anything that can put bytes on a subject with a dedupe id; the outbox relay needs only this. */
export interface EventPublisher {
  publish(subject: string, payload: Uint8Array, msgId: string): Promise<PublishResult>;
}

export interface JetStreamPublisherOptions {
  /** How long to wait for the PubAck, in milliseconds (default 5000). */
  timeoutMs?: number;
}

export class JetStreamPublisher implements EventPublisher {
  private readonly js: JetStreamClient;
  private readonly timeoutMs: number;

  constructor(nc: NatsConnection, options: JetStreamPublisherOptions = {}) {
    this.js = nc.jetstream();
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /**
   * Resolves once JetStream has stored the message. `msgId` goes into `Nats-Msg-Id`, so a
   * retry after a lost PubAck does not store the event twice.
   */
  async publish(subject: string, payload: Uint8Array, msgId: string): Promise<PublishResult> {
    if (!msgId) throw new Error('publish needs a message id');
    const ack = await this.js.publish(subject, payload, { msgID: msgId, timeout: this.timeoutMs });
    return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
  }
}
