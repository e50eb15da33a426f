import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made with openssl. */
export function makePki(dir: string): TestPki {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=partflow test CA');
  const leaf = (name: string, cn: string, ext: string) => {
    fs.writeFileSync(f(`${name}.ext`), ext);
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
  };
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'partflow-worker', 'extendedKeyUsage=clientAuth\n');
  return { dir, caCert: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

export interface Proxy {
  port: number;
  /** Client certificates' subjects (TLS proxy) or authorization headers (HTTP/2 proxy) seen. */
  seen: string[];
  close(): Promise<void>;
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** A TLS terminator in front of a plaintext gRPC server; with mtls it demands a client certificate from the CA. */
export async function tlsProxy(pki: TestPki, target: string, opts: { mtls?: boolean } = {}): Promise<Proxy> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({
    key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert), ca: fs.readFileSync(pki.caCert),
    requestCert: Boolean(opts.mtls), rejectUnauthorized: Boolean(opts.mtls), ALPNProtocols: ['h2'],
  }, (socket) => {
    const peer = socket.getPeerCertificate();
    if (peer?.subject) seen.push(String(peer.subject.CN));
    const up = net.connect(hostPort(target));
    sockets.add(socket).add(up);
    socket.pipe(up).pipe(socket);
    const end = () => { socket.destroy(); up.destroy(); sockets.delete(socket); sockets.delete(up); };
    socket.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port, seen,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/**
 * An HTTP/2 TLS proxy that forwards each gRPC call to the plaintext server and records its
 * `authorization` header, so a test can see what credentials a client sent.
 */
export async function grpcRecordingProxy(pki: TestPki, target: string): Promise<Proxy> {
  const seen: string[] = [];
  const upstream = http2.connect(`http://${target}`);
  upstream.on('error', () => undefined);
  const server = http2.createSecureServer({ key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert), allowHTTP1: false });
  server.on('stream', (stream, headers) => {
    seen.push(String(headers.authorization ?? ''));
    const fwd: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':') || k === ':method' || k === ':path') fwd[k] = v;
    const up = upstream.request(fwd);
    let trailers: http2.OutgoingHttpHeaders = {};
    up.on('response', (h, flags) => {
      if (stream.destroyed || stream.closed) return;
      const out: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') || k === ':status') out[k] = v;
      // A trailers-only response (a gRPC error) ends with its headers.
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) stream.respond(out, { endStream: true });
      else stream.respond(out, { waitForTrailers: true });
    });
    up.on('trailers', (t) => { trailers = Object.fromEntries(Object.entries(t).filter(([k]) => !k.startsWith(':'))) as http2.OutgoingHttpHeaders; });
    stream.on('wantTrailers', () => { if (!stream.destroyed) stream.sendTrailers(trailers); });
    stream.pipe(up);
    up.on('data', (d) => { if (!stream.destroyed) stream.write(d); });
    up.on('end', () => { if (!stream.destroyed && !stream.writableEnded) stream.end(); });
    up.on('error', () => stream.destroy());
    stream.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port, seen,
    close: () => new Promise<void>((r) => { upstream.close(); server.close(() => r()); }),
  };
}
