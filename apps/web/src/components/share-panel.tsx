import type { Component } from 'solid-js';
import { createResource, createSignal, onCleanup, Show } from 'solid-js';
import type { ShareInfo } from '../state/chat-store.js';
import { isLoopbackHost } from '../state/urls.js';
import { qrDataUrl } from './qr-code.js';

/** Copies text; falls back to selecting it in its field for the user to copy. */
async function copyText(text: string, field: HTMLInputElement | undefined): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // The Clipboard API needs a secure context and permission; the field is the fallback.
    field?.select();
    return false;
  }
}

/** How to invite others: the share code, the join link and a QR code of it. */
export const SharePanel: Component<{ share: ShareInfo | undefined }> = (props) => {
  const [copied, setCopied] = createSignal('');
  const [qr] = createResource(() => props.share?.link, qrDataUrl);
  let codeField: HTMLInputElement | undefined;
  let linkField: HTMLInputElement | undefined;
  let clearTimer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(clearTimer));
  const localOnly = () => {
    const link = props.share?.link;
    return link !== undefined && isLoopbackHost(new URL(link).hostname);
  };

  const copy = async (what: 'code' | 'link') => {
    const share = props.share;
    if (share === undefined) return;
    const ok = await copyText(
      what === 'code' ? share.code : share.link,
      what === 'code' ? codeField : linkField,
    );
    setCopied(
      ok
        ? `${what === 'code' ? 'Share code' : 'Join link'} copied.`
        : 'Copying is blocked here: the text is selected, press Ctrl+C (or ⌘C) to copy it.',
    );
    clearTimeout(clearTimer);
    clearTimer = setTimeout(() => setCopied(''), 4_000);
  };

  return (
    <section class="panel-section share" aria-labelledby="share-heading">
      <h2 id="share-heading">Invite</h2>
      <Show
        when={props.share}
        fallback={<p class="help">The invitation appears once you are in the room.</p>}
      >
        {(share) => (
          <>
            <p class="help">
              The code contains the room key: anyone who has it can read this room. Send it only to
              people you trust.
            </p>
            <label for="share-code">Share code</label>
            <div class="copy-row">
              <input
                ref={codeField}
                id="share-code"
                class="mono"
                readOnly
                value={share().code}
                onFocus={(event) => event.currentTarget.select()}
              />
              <button type="button" onClick={() => void copy('code')}>
                Copy code
              </button>
            </div>
            <label for="share-link">Join link</label>
            <div class="copy-row">
              <input
                ref={linkField}
                id="share-link"
                class="mono"
                readOnly
                value={share().link}
                onFocus={(event) => event.currentTarget.select()}
              />
              <button type="button" onClick={() => void copy('link')}>
                Copy link
              </button>
            </div>
            <p class="copied" role="status">
              {copied()}
            </p>
            <Show when={localOnly()}>
              <p class="help warn-text" data-testid="local-link-warning">
                This link uses this computer's own address, so it opens only here. For phones and
                other computers, start the relay with HUSH_PUBLIC_URL set to an address they can
                reach (with HUSH_TLS=self-signed for HTTPS).
              </p>
            </Show>
            <Show when={qr.state === 'ready' ? qr() : undefined}>
              {(src) => (
                <img
                  class="qr"
                  src={src()}
                  width="192"
                  height="192"
                  alt="QR code of the join link"
                />
              )}
            </Show>
          </>
        )}
      </Show>
    </section>
  );
};
