import { createConnection, createServer, type Server, type Socket } from 'node:net';

// What a Kubernetes Service is to a Deployment's pods, for the drills: one address in front of
// several replicas of a service (trainers, inference replicas). Each new TCP connection goes to the
// next backend that is up (round robin); a backend that refuses is skipped. When a replica dies its
// connections drop and the client (a gRPC channel) reconnects, reaching a live one.

export class TcpBalancer {
  private server: Server | undefined;
  private next = 0;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    /** The ports of the replicas that are up right now. */
    private readonly backends: () => number[],
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => this.route(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  private route(client: Socket, tried = 0): void {
    const ports = this.backends();
    if (ports.length === 0 || tried >= ports.length) {
      client.destroy();
      return;
    }
    const port = ports[this.next++ % ports.length]!;
    const upstream = createConnection({ host: '127.0.0.1', port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
    });
    const close = () => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', () => {
      if (!connected) {
        upstream.destroy();
        this.route(client, tried + 1);
      } else close();
    });
    upstream.on('close', () => connected && close());
    client.on('error', close);
    client.on('close', close);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
