import { cleanup, fireEvent, render, screen } from '@solidjs/testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SendResult } from '../state/session-store.js';
import { Composer } from './composer.js';

afterEach(cleanup);

function renderComposer(onSend = vi.fn((_: string): SendResult => 'queued')) {
  const onInput = vi.fn();
  render(() => (
    <Composer
      disabled={false}
      hint={undefined}
      onSend={onSend}
      onInput={onInput}
      onBlur={() => undefined}
    />
  ));
  const input = screen.getByLabelText('Message') as HTMLTextAreaElement;
  return { input, onSend, onInput };
}

describe('Composer', () => {
  it('counts code points and blocks messages over the limit', () => {
    const { input } = renderComposer();
    fireEvent.input(input, { target: { value: '😀😀 hi' } });
    expect(screen.getByText('5 / 4000')).toBeTruthy();
    fireEvent.input(input, { target: { value: 'x'.repeat(4_001) } });
    expect(screen.getByText('4001 / 4000').classList.contains('over')).toBe(true);
    expect((screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement).disabled).toBe(true);
    expect(input.getAttribute('aria-invalid')).toBe('true');
  });

  it('sends on Enter, keeps Shift+Enter for new lines, and clears after sending', () => {
    const { input, onSend, onInput } = renderComposer();
    fireEvent.input(input, { target: { value: 'hello' } });
    expect(onInput).toHaveBeenCalledWith('hello');
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true });
    expect(onSend).not.toHaveBeenCalled();
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledWith('hello');
    expect(input.value).toBe('');
  });

  it('keeps the text when the message was not accepted', () => {
    const { input } = renderComposer(vi.fn((): SendResult => 'not-in-room'));
    fireEvent.input(input, { target: { value: 'keep me' } });
    fireEvent.submit(input.form!);
    expect(input.value).toBe('keep me');
  });
});
