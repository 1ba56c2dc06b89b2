/**
 * A TCP load balancer for cluster tests: round-robin over relay replicas, as a Kubernetes
 * Service or the compose nginx would spread new connections. A backend that refuses the
 * connection (a killed replica) is skipped for the next one. New connections can be held off
 * (`refuseNew`) to keep clients out for a while; connections already made are left alone.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  host: string;
  port: number;
}

export class TcpBalancer {
  private next = 0;
  private refusing = false;
  private readonly open = new Set<Socket>();
  /** Live client connections by the backend ("host:port") they were piped to. */
  private readonly perBackend = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    private readonly backends: readonly Backend[],
    readonly url: string,
  ) {}

  /** Listens on an ephemeral port of 127.0.0.1 in front of `backends` (relay http:// URLs). */
  static async start(backendUrls: readonly string[]): Promise<TcpBalancer> {
    const backends = backendUrls.map((url) => {
      const { hostname, port } = new URL(url);
      return { host: hostname, port: Number(port) };
    });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no listen address');
    const balancer = new TcpBalancer(server, backends, `http://127.0.0.1:${address.port}`);
    server.on('connection', (client) => balancer.accept(client));
    return balancer;
  }

  /** While true, every new connection is closed at once, as by a balancer with no endpoints. */
  refuseNew(refusing: boolean): void {
    this.refusing = refusing;
  }

  /** Client connections now piped to the replica at `url`. */
  connectionsTo(url: string): number {
    const { hostname, port } = new URL(url);
    return this.perBackend.get(`${hostname}:${port}`) ?? 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    this.pipe(client, this.backends.length);
  }

  /** Pipes `client` to the next backend that accepts it, trying at most `tries` of them. */
  private pipe(client: Socket, tries: number): void {
    if (tries === 0 || client.destroyed) {
      client.destroy();
      return;
    }
    const backend = this.backends[this.next++ % this.backends.length] as Backend;
    const key = `${backend.host}:${backend.port}`;
    const upstream = connect({ host: backend.host, port: backend.port });
    // Until it connects, an error means the backend is not there: try the next one.
    upstream.once('error', () => {
      upstream.destroy();
      this.pipe(client, tries - 1);
    });
    upstream.once('connect', () => {
      upstream.removeAllListeners('error');
      this.perBackend.set(key, (this.perBackend.get(key) ?? 0) + 1);
      this.open.add(upstream);
      upstream.once('close', () => {
        this.open.delete(upstream);
        this.perBackend.set(key, (this.perBackend.get(key) ?? 1) - 1);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.once('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
