/** Longest side of a preview, in CSS pixels. */
const SIDES = [240, 180, 120, 80];
const QUALITIES = [0.7, 0.5, 0.35];

/**
 * A JPEG preview of an image, made in the browser, of at most `maxBytes` (previews travel inside
 * the file's description, which must fit one frame). Undefined when the browser cannot decode
 * the image or no size fits.
 */
export async function makeThumbnail(file: Blob, maxBytes: number): Promise<Uint8Array | undefined> {
  if (maxBytes <= 0) return undefined;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return undefined;
  }
  try {
    for (const side of SIDES) {
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
      const width = Math.max(1, Math.round(bitmap.width * scale));
      const height = Math.max(1, Math.round(bitmap.height * scale));
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext('2d');
      if (context === null) return undefined;
      // JPEG has no transparency: a white ground instead of black.
      context.fillStyle = '#ffffff';
      context.fillRect(0, 0, width, height);
      context.drawImage(bitmap, 0, 0, width, height);
      for (const quality of QUALITIES) {
        const blob = await new Promise<Blob | null>((resolve) =>
          canvas.toBlob(resolve, 'image/jpeg', quality),
        );
        if (blob !== null && blob.size <= maxBytes) return new Uint8Array(await blob.arrayBuffer());
      }
    }
    return undefined;
  } finally {
    bitmap.close();
  }
}
