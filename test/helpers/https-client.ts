/**
 * One HTTPS (or plain HTTP) request with node:https, trusting the test's own
 * certificate authority: fetch cannot be given a CA without undici's own API.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON, or undefined when empty. */
  body: unknown;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** The certificate to trust (https URLs). */
  ca?: Buffer;
}

export function send(url: string, { method = 'GET', headers = {}, json, ca }: RequestOptions = {}): Promise<Answer> {
  const body = json === undefined ? undefined : JSON.stringify(json);
  const allHeaders = body === undefined ? headers : { 'content-type': 'application/json', ...headers };
  const make = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = make(url, { method, headers: allHeaders, ...(ca ? { ca } : {}), agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text === '' ? undefined : (JSON.parse(text) as unknown),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
