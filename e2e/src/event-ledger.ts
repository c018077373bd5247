import { AckPolicy, connect, type Consumer, DeliverPolicy, type NatsConnection } from 'nats';

// A durable consumer on every event of a cluster that keeps the books: how many times each event id
// (the JetStream message id the outbox relays publish with) was delivered to it. Its effect — a set
// of ids — is idempotent, like every labelloop consumer's: a redelivery is counted as one, and
// reported separately. It survives a NATS restart (reconnects, fetches again).

const STREAM = 'LABELLOOP';
const DURABLE = 'drill-ledger';

export class EventLedger {
  private nc: NatsConnection | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  /** Deliveries per event id. */
  readonly deliveries = new Map<string, number>();
  private readonly subjects = new Map<string, string>();

  constructor(private readonly url: string) {}

  async start(): Promise<void> {
    this.nc = await connect({ servers: this.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const jsm = await this.nc.jetstreamManager();
    const deadline = Date.now() + 30_000;
    while (!(await jsm.streams.info(STREAM).catch(() => undefined))) {
      if (Date.now() > deadline) throw new Error(`stream ${STREAM} did not appear`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await jsm.consumers.add(STREAM, {
      durable_name: DURABLE,
      filter_subject: 'labelloop.>',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 5_000_000_000,
    });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let consumer: Consumer | undefined;
    while (!this.stopped) {
      try {
        consumer ??= await this.nc!.jetstream().consumers.get(STREAM, DURABLE);
        const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
        for await (const message of batch) {
          const id = message.headers?.get('Nats-Msg-Id') || `seq-${message.seq}`;
          this.deliveries.set(id, (this.deliveries.get(id) ?? 0) + 1);
          this.subjects.set(id, message.subject);
          message.ack();
        }
      } catch {
        // NATS is down or restarting: look the consumer up again once it is back.
        consumer = undefined;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Distinct event ids received, by subject, for the subjects `include` accepts. */
  distinctBySubject(include: (subject: string) => boolean = () => true): Record<string, number> {
    const out: Record<string, number> = {};
    for (const subject of this.subjects.values()) if (include(subject)) out[subject] = (out[subject] ?? 0) + 1;
    return out;
  }

  /** Event ids delivered more than once (each counted once in the account). */
  redelivered(): string[] {
    return [...this.deliveries].filter(([, n]) => n > 1).map(([id]) => id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => {});
    await this.nc?.close().catch(() => {});
  }
}
