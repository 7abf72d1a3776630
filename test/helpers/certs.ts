/**
 * Test certificates made on the fly with `selfsigned` (EC P-256: milliseconds each), so no
 * private key is committed. A self-signed server certificate, a CA, and leaves the CA issued.
 */
import { generate } from 'selfsigned';

export interface Pem {
  cert: string;
  key: string;
}

interface Names {
  dns?: string[];
  ips?: string[];
}

function san(n: Names) {
  return { name: 'subjectAltName' as const, altNames: [...(n.dns ?? []).map((value) => ({ type: 2 as const, value })), ...(n.ips ?? []).map((ip) => ({ type: 7 as const, ip }))] };
}

/** A server certificate signed by its own key, as `lab93 cert` makes (localhost and 127.0.0.1 by default). */
export async function selfSigned(names: Names = { dns: ['localhost'], ips: ['127.0.0.1'] }): Promise<Pem> {
  const p = await generate([{ name: 'commonName', value: names.dns?.[0] ?? names.ips?.[0] ?? 'lab93' }], {
    keyType: 'ec', algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', serverAuth: true }, san(names)],
  });
  return { cert: p.cert, key: p.private };
}

/** A certificate authority (a school's own CA). */
export async function makeCa(name = 'Test School CA'): Promise<Pem> {
  const p = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec', algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
  });
  return { cert: p.cert, key: p.private };
}

/** A server certificate issued by `ca` for `names`. */
export async function issued(ca: Pem, names: Names): Promise<Pem> {
  const p = await generate([{ name: 'commonName', value: names.dns?.[0] ?? names.ips?.[0] ?? 'lab93' }], {
    keyType: 'ec', algorithm: 'sha256', ca: { key: ca.key, cert: ca.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', serverAuth: true }, san(names)],
  });
  return { cert: p.cert, key: p.private };
}
