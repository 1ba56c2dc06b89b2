import type { JSX } from 'solid-js';

/**
 * A member's colour as a CSS custom property. Set through the CSSOM (Solid's style object), which
 * the Content-Security-Policy allows, unlike `style="…"` attributes in markup.
 */
export function memberStyle(color: string | undefined): JSX.CSSProperties | undefined {
  return color === undefined ? undefined : { '--member-color': color };
}
