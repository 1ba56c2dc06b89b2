import type { Component } from 'solid-js';
import { typingText } from '../state/format.js';

/** "Ana is typing…". The line keeps its height so the composer does not jump. */
export const TypingIndicator: Component<{ names: readonly string[] }> = (props) => (
  <p class="typing" aria-live="polite">
    {typingText(props.names)}
  </p>
);
