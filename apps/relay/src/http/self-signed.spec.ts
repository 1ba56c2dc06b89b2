import { createHash, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateNames,
  makeSelfSignedCertificate,
  SELF_SIGNED_VALIDITY_DAYS,
} from './self-signed.js';

describe('the self-signed certificate made at start', () => {
  it('covers this computer and the public URL host, and states its SHA-256 fingerprints', async () => {
    const names = certificateNames('https://hush.lan:8443/');
    expect(names).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', '::1', 'hush.lan']));
    const made = await makeSelfSignedCertificate(names);
    const certificate = new X509Certificate(made.cert);
    expect(made.fingerprint256).toBe(certificate.fingerprint256);
    expect(made.spkiSha256).toBe(
      createHash('sha256')
        .update(certificate.publicKey.export({ type: 'spki', format: 'der' }))
        .digest('base64'),
    );
    for (const name of [
      'DNS:localhost',
      'DNS:hush.lan',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
    ]) {
      expect(certificate.subjectAltName).toContain(name);
    }
    expect(
      certificate.checkPrivateKey((await import('node:crypto')).createPrivateKey(made.key)),
    ).toBe(true);
    const days = (Date.parse(certificate.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(SELF_SIGNED_VALIDITY_DAYS - 1);
    expect(days).toBeLessThanOrEqual(SELF_SIGNED_VALIDITY_DAYS);
    expect(certificate.ca).toBe(false);
  });

  it('is new at every start', async () => {
    const [a, b] = await Promise.all([
      makeSelfSignedCertificate(['localhost']),
      makeSelfSignedCertificate(['localhost']),
    ]);
    expect(a.fingerprint256).not.toBe(b.fingerprint256);
  });
});
