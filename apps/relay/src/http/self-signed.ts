import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { generate } from 'selfsigned';

/** A certificate made at start, and how people and tests recognise it. */
export interface SelfSignedCertificate {
  /** PEM. */
  cert: string;
  /** PEM (PKCS#8). */
  key: string;
  /** SHA-256 of the certificate, as browsers show it: `AB:CD:…` (32 pairs). */
  fingerprint256: string;
  /** Base64 SHA-256 of the public key (SPKI), as Chromium's `--ignore-certificate-errors-spki-list` takes it. */
  spkiSha256: string;
  /** The names and addresses the certificate is valid for. */
  names: string[];
}

/** How long a certificate made at start is valid; a restart makes a new one. */
export const SELF_SIGNED_VALIDITY_DAYS = 30;

/**
 * The names a self-signed certificate should cover: this computer (`localhost`, loopback, its
 * host name, the addresses of its network interfaces) and the host of the public URL, so a phone
 * on the same network that opens any of them sees the certificate it was told about.
 */
export function certificateNames(publicUrl: string | undefined): string[] {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1']);
  const host = hostname();
  if (host !== '') names.add(host);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (!address.internal) names.add(address.address.replace(/%.*$/, ''));
    }
  }
  if (publicUrl !== undefined) names.add(new URL(publicUrl).hostname.replace(/^\[|\]$/g, ''));
  return [...names];
}

/** Makes an ECDSA P-256 certificate for `names`, valid from now for {@link SELF_SIGNED_VALIDITY_DAYS}. */
export async function makeSelfSignedCertificate(names: string[]): Promise<SelfSignedCertificate> {
  const now = Date.now();
  const generated = await generate([{ name: 'commonName', value: 'Hush relay (self-signed)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + SELF_SIGNED_VALIDITY_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: names.map((name) =>
          isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name },
        ),
      },
    ],
  });
  const certificate = new X509Certificate(generated.cert);
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return {
    cert: generated.cert,
    key: generated.private,
    fingerprint256: certificate.fingerprint256,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    names,
  };
}
