import { toString as renderQr } from 'qrcode';

/**
 * A QR code of `text` as an SVG data URL, shown with `<img>`: the CSP allows `img-src data:`,
 * and an image keeps the SVG's markup out of the document.
 */
export async function qrDataUrl(text: string): Promise<string> {
  const svg = await renderQr(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
