/** GET /metrics over HTTPS with a client certificate of our choosing, which fetch() cannot send. */
import fs from 'node:fs';
import https from 'node:https';

export type Scrape = { readonly status: number; readonly body: string } | { readonly error: string };

/** `address` host:port; trusts `ca` for the server; presents `client` (or no certificate). */
export function scrapeHttps(address: string, ca: string, client: { readonly cert: string; readonly key: string } | null): Promise<Scrape> {
  const idx = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: address.slice(0, idx),
        port: Number(address.slice(idx + 1)),
        path: '/metrics',
        ca: fs.readFileSync(ca),
        ...(client === null ? {} : { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) }),
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}
