/**
 * A lean keep-alive HTTP/1.1 client for the load generator. The generator shares the machine with
 * the parent and the enclave, so every microsecond it spends is taken from them: bodies are
 * serialised once by the caller and sent as Buffers, answers come back as text and are parsed only
 * when a scenario checks them. node:http with a keep-alive Agent (one socket per request in
 * flight, reused) rather than fetch, whose per-request overhead is several times larger.
 */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
}

export class HttpClient {
  readonly #agent: http.Agent;
  readonly #host: string;
  readonly #port: number;
  readonly #auth: string;

  constructor(baseUrl: string, token: string, maxSockets = 256) {
    const url = new URL(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port);
    this.#auth = `Bearer ${token}`;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  get(path: string): Promise<HttpAnswer> {
    return this.#request('GET', path, undefined);
  }

  /** POSTs an already-serialised JSON body. */
  post(path: string, body: Buffer): Promise<HttpAnswer> {
    return this.#request('POST', path, body);
  }

  close(): void {
    this.#agent.destroy();
  }

  #request(method: string, path: string, body: Buffer | undefined): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { authorization: this.#auth };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = body.length;
      }
      const req = http.request({ host: this.#host, port: this.#port, method, path, headers, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}
