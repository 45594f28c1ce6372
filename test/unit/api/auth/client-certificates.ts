import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type PeerCertificate, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { loadClientCa, verifiedPeerCertificate } from '../../../../src/api/auth/client-ca.js';

/** The client certificates `makeClientCertificates` issues, by file name stem. */
export type ClientName = 'console' | 'stranger' | 'server-only' | 'impostor';

export interface ClientCertificates {
  dir: string;
  file(name: string): string;
  remove(): void;
}

/**
 * Real certificates made with openssl (ECDSA P-256, fast): `client-ca` (what
 * API_CLIENT_CA names) and `other-ca`; `server` (serverAuth, 127.0.0.1);
 * `console` (CN wutong-console, O wutong:consoles and tenant-a-admins,
 * clientAuth) from client-ca; `stranger` (CN admin, O system:masters) from
 * other-ca; `server-only` from client-ca but with serverAuth only;
 * `impostor` (CN system:admin, O system:masters and ops, clientAuth) from
 * client-ca: what a careless or compromised issuer could sign.
 */
export function makeClientCertificates(): ClientCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'client-ca-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const issueCa = (name: string): void =>
    openssl('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  const issueLeaf = (name: string, ca: string, subject: string, extensions: string): void => {
    writeFileSync(file(`${name}.ext`), extensions);
    openssl('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  };
  issueCa('client-ca');
  issueCa('other-ca');
  issueLeaf('server', 'client-ca', '/CN=wutong-backup-api', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issueLeaf('console', 'client-ca', '/O=wutong:consoles/O=tenant-a-admins/CN=wutong-console', 'extendedKeyUsage=clientAuth\n');
  issueLeaf('stranger', 'other-ca', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n');
  issueLeaf('server-only', 'client-ca', '/CN=not-a-client', 'extendedKeyUsage=serverAuth\n');
  issueLeaf('impostor', 'client-ca', '/O=system:masters/O=ops/CN=system:admin', 'extendedKeyUsage=clientAuth\n');
  return { dir, file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Seen {
  answer: string;
  /** socket.authorized on the server side. */
  authorized: boolean;
  /** What verifiedPeerCertificate gave the server. */
  cert: PeerCertificate | undefined;
}

export interface ClientCaServer {
  /** Connects with the named client certificate (none when omitted) and returns what the server saw. */
  connectAs(client?: ClientName): Promise<Seen>;
  setSecureContext(options: SecureContextOptions): void;
  close(): Promise<void>;
}

/** A TLS server on loopback with the server options loadClientCa answers for client-ca.crt. */
export async function startClientCaServer(certs: ClientCertificates): Promise<ClientCaServer> {
  let seen: { authorized: boolean; cert: PeerCertificate | undefined } | undefined;
  const server = createServer({ cert: readFileSync(certs.file('server.crt')), key: readFileSync(certs.file('server.key')), ...loadClientCa(certs.file('client-ca.crt')) }, (socket: TLSSocket) => {
    seen = { authorized: socket.authorized, cert: verifiedPeerCertificate(socket) };
    socket.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    async connectAs(client) {
      seen = undefined;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect({
          host: '127.0.0.1',
          port,
          ca: readFileSync(certs.file('client-ca.crt')),
          ...(client ? { cert: readFileSync(certs.file(`${client}.crt`)), key: readFileSync(certs.file(`${client}.key`)) } : {}),
        });
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      const observed = seen as { authorized: boolean; cert: PeerCertificate | undefined } | undefined;
      if (!observed) throw new Error('the server saw no connection');
      return { answer, ...observed };
    },
    setSecureContext: (options) => server.setSecureContext(options),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
