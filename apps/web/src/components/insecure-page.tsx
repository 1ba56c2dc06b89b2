import type { Component } from 'solid-js';

/**
 * Shown instead of the app where the browser withholds WebCrypto: a page loaded over plain HTTP
 * from an address other than this computer's (`http://192.168.…`) is not a secure context.
 */
export const InsecurePage: Component<{ pageUrl: string }> = (props) => {
  const url = () => new URL(props.pageUrl);
  const https = () => {
    const copy = new URL(props.pageUrl);
    copy.protocol = 'https:';
    copy.hash = '';
    return copy.toString();
  };
  const local = () => {
    const copy = new URL(props.pageUrl);
    copy.hostname = 'localhost';
    copy.hash = '';
    return copy.toString();
  };
  return (
    <main class="home insecure" aria-labelledby="insecure-heading">
      <header class="brand">
        <h1>Hush</h1>
      </header>
      <section class="card" role="alert">
        <h2 id="insecure-heading">This page cannot encrypt here</h2>
        <p>
          Hush encrypts messages in your browser, and browsers allow that only on secure pages:
          HTTPS, or this computer's own address. This page was opened over plain HTTP at{' '}
          <span class="mono">{url().host}</span>, so the browser keeps its encryption tools away
          from it, and nothing can be sent or read safely.
        </p>
        <h3>What to do</h3>
        <ul class="steps">
          <li>
            On the computer that runs the relay, open <span class="mono">{local()}</span>.
          </li>
          <li>
            From a phone or another computer, use HTTPS: start the relay with{' '}
            <span class="mono">HUSH_TLS=self-signed</span> (or with a certificate), then open{' '}
            <span class="mono">{https()}</span> and accept the certificate after comparing its
            SHA-256 fingerprint with the one the relay printed when it started.
          </li>
        </ul>
      </section>
    </main>
  );
};
