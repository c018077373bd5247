import { datasetEvents, decodeEvent, subjectFor, type EventDef, type EventMessage } from '@labelloop/events';
import { connect, type NatsConnection } from 'nats';
import { eventually } from './fixtures.js';
import type { Harness } from './harness.js';

/** Everything published under the harness's subject prefix, as it arrives on NATS. */
export class EventLog {
  private readonly received: Array<{ subject: string; data: Uint8Array }> = [];

  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {}

  static async start(h: Harness): Promise<EventLog> {
    const nc = await connect({ servers: h.nats.url });
    const log = new EventLog(nc, h.nats.subjectPrefix);
    const subscription = nc.subscribe(`${h.nats.subjectPrefix}.>`);
    void (async () => {
      for await (const message of subscription) log.received.push({ subject: message.subject, data: message.data });
    })();
    await nc.flush();
    return log;
  }

  /** Waits for an event of `def` matching `predicate`. */
  async expect<T extends EventMessage>(def: EventDef<T>, predicate: (event: T) => boolean): Promise<T> {
    const subject = subjectFor(this.prefix, def);
    return eventually(
      async () =>
        this.received
          .filter((message) => message.subject === subject)
          .map((message) => decodeEvent(def, message.data))
          .find(predicate),
      10_000,
      `a ${def.subject} event`,
    );
  }

  all<T extends EventMessage>(def: EventDef<T>): T[] {
    const subject = subjectFor(this.prefix, def);
    return this.received
      .filter((message) => message.subject === subject)
      .map((message) => decodeEvent(def, message.data));
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

export { datasetEvents };
