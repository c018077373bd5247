// A bounded hand-over between the multipart parser (writer) and the gRPC upload stream
// (reader): the writer waits for room before reading the next file's bytes, so at most
// `capacity` files sit in memory and busboy and the socket feel the backpressure.

export class FileQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private cancelled = false;
  private wakeReader: (() => void) | undefined;
  private roomWaiters: Array<() => void> = [];

  constructor(private readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError('capacity must be a positive integer');
  }

  /** Resolves true once there is room for one more item, false when the reader has gone. */
  async waitForRoom(): Promise<boolean> {
    while (!this.cancelled && this.items.length >= this.capacity) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    return !this.cancelled;
  }

  push(item: T): void {
    if (this.ended) throw new Error('push after end');
    this.items.push(item);
    this.wake();
  }

  /** No more items: the reader finishes once it has taken those queued. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The reader has gone (its call failed): writers stop waiting, queued items are dropped. */
  cancel(): void {
    this.cancelled = true;
    this.items.length = 0;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.cancelled) return;
      if (this.items.length > 0) {
        const item = this.items.shift()!;
        this.roomWaiters.shift()?.();
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }
}
