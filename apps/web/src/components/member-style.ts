import type { JSX } from 'solid-js';
import type { MemberColors } from '../state/member-colors.js';

/**
 * A member's readable colours (one per theme) as CSS custom properties. Set through the CSSOM
 * (Solid's style object), which the Content-Security-Policy allows, unlike `style="…"` in markup.
 */
export function memberStyle(colors: MemberColors | undefined): JSX.CSSProperties | undefined {
  return colors === undefined
    ? undefined
    : { '--member-light': colors.light, '--member-dark': colors.dark };
}
