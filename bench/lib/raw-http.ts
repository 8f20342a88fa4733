/**
 * The load generator's HTTP/1.1 client: keep-alive connections over net.Socket, one request at a
 * time per connection (no pipelining), requests serialised once per body and written as one
 * buffer, answers parsed only as far as status line, Content-Length and body.
 *
 * Why not node:http: on a 2-core machine the generator competes with the parent and the enclave
 * for the same cores, and node:http's client cost ~250 µs of CPU per request here (header objects,
 * stream machinery), as much as the parent's own work; this costs a fraction of that, so what is
 * measured is the stack rather than the generator. It understands exactly what the parent sends
 * (parent/http/server.ts: always Content-Length, never chunked) and fails loudly on anything else.
 */
import net from 'node:net';
import type { HttpAnswer } from './http.js';

const HEADER_END = Buffer.from('\r\n\r\n');

interface Waiter {
  request: Buffer;
  resolve: (answer: HttpAnswer) => void;
  reject: (error: Error) => void;
}

class Connection {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #size = 0;
  #current: Waiter | undefined;
  #expected = -1;
  #headerBytes = 0;
  #status = 0;

  constructor(host: string, port: number, readonly onIdle: (connection: Connection) => void, readonly onGone: (connection: Connection) => void) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.#data(chunk));
    const gone = (error?: Error): void => {
      this.onGone(this);
      this.#current?.reject(error ?? new Error('connection closed'));
      this.#current = undefined;
    };
    this.socket.on('error', gone);
    this.socket.on('close', () => gone());
  }

  send(waiter: Waiter): void {
    this.#current = waiter;
    this.#chunks = [];
    this.#size = 0;
    this.#expected = -1;
    this.socket.write(waiter.request);
  }

  #data(chunk: Buffer): void {
    if (this.#current === undefined) {
      this.socket.destroy(new Error('unexpected bytes from the server'));
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    const all = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#size);
    if (this.#chunks.length > 1) this.#chunks = [all];
    if (this.#expected < 0) {
      const end = all.indexOf(HEADER_END);
      if (end < 0) return;
      const head = all.toString('latin1', 0, end);
      this.#status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (length === null) {
        this.socket.destroy(new Error('answer without Content-Length'));
        return;
      }
      this.#headerBytes = end + HEADER_END.length;
      this.#expected = this.#headerBytes + Number(length[1]);
    }
    if (all.length < this.#expected) return;
    if (all.length > this.#expected) {
      this.socket.destroy(new Error('more bytes than Content-Length'));
      return;
    }
    const waiter = this.#current;
    this.#current = undefined;
    waiter.resolve({ status: this.#status, body: all.toString('utf8', this.#headerBytes) });
    this.onIdle(this);
  }
}

export class RawHttpClient {
  readonly #host: string;
  readonly #port: number;
  readonly #auth: string;
  readonly #maxConnections: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #queue: Waiter[] = [];
  readonly #requests = new WeakMap<Buffer, Buffer>();

  constructor(baseUrl: string, token: string, maxConnections = 256) {
    const url = new URL(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port);
    this.#auth = `Bearer ${token}`;
    this.#maxConnections = maxConnections;
  }

  /** POSTs a JSON body; the serialised request is kept per body Buffer (bodies are reused). */
  post(path: string, body: Buffer): Promise<HttpAnswer> {
    let request = this.#requests.get(body);
    if (request === undefined) {
      const head = `POST ${path} HTTP/1.1\r\nHost: ${this.#host}:${this.#port}\r\nAuthorization: ${this.#auth}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      request = Buffer.concat([Buffer.from(head, 'latin1'), body]);
      this.#requests.set(body, request);
    }
    const bytes = request;
    return new Promise((resolve, reject) => {
      const waiter = { request: bytes, resolve, reject };
      const connection = this.#idle.pop() ?? this.#open();
      if (connection === undefined) this.#queue.push(waiter);
      else connection.send(waiter);
    });
  }

  close(): void {
    for (const connection of this.#all) connection.socket.destroy();
  }

  #open(): Connection | undefined {
    if (this.#all.size >= this.#maxConnections) return undefined;
    const connection = new Connection(
      this.#host,
      this.#port,
      (idle) => {
        const next = this.#queue.shift();
        if (next !== undefined) idle.send(next);
        else this.#idle.push(idle);
      },
      (gone) => {
        this.#all.delete(gone);
        const index = this.#idle.indexOf(gone);
        if (index >= 0) this.#idle.splice(index, 1);
      },
    );
    this.#all.add(connection);
    return connection;
  }
}
