/**
 * @module domain/file-type
 * What a file is, read from its first bytes rather than taken from the client: the sniffed
 * type (magic numbers), and for an image its pixel size and EXIF orientation, read from its
 * header without decoding it. The upload route checks the declared type against the sniffed
 * one and refuses an image whose size it cannot read or that has too many pixels to decode
 * safely, before a single pixel is decoded (docs/protocol.md §8.10). Pure: bytes in, facts out.
 */

/** The image types that are shown inline (the only ones a browser is asked to render). */
export const IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** What the first bytes say, or null for a type this module does not recognise. */
export function sniffType(head: Uint8Array): string | null {
  const at = (offset: number, bytes: number[]) => bytes.every((b, i) => head[offset + i] === b);
  const ascii = (offset: number, text: string) =>
    at(
      offset,
      [...text].map((c) => c.charCodeAt(0)),
    );
  if (at(0, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (ascii(0, "GIF87a") || ascii(0, "GIF89a")) return "image/gif";
  if (ascii(0, "RIFF") && ascii(8, "WEBP")) return "image/webp";
  if (ascii(0, "%PDF-")) return "application/pdf";
  if (at(0, [0x50, 0x4b, 0x03, 0x04]) || at(0, [0x50, 0x4b, 0x05, 0x06])) return "application/zip";
  if (at(0, [0x1f, 0x8b])) return "application/gzip";
  if (ascii(4, "ftyp")) return ascii(8, "qt  ") ? "video/quicktime" : "video/mp4";
  if (ascii(0, "ID3") || at(0, [0xff, 0xfb])) return "audio/mpeg";
  if (ascii(0, "OggS")) return "audio/ogg";
  if (at(0, [0x1a, 0x45, 0xdf, 0xa3])) return "video/webm";
  return null;
}

export function isImageType(type: string): type is ImageType {
  return (IMAGE_TYPES as readonly string[]).includes(type);
}

export interface ImageInfo {
  /** As stored in the file, before the EXIF orientation is applied. */
  width: number;
  height: number;
  /** EXIF orientation, 1-8 (1: as stored). Only JPEGs carry one here. */
  orientation: number;
}

/**
 * The pixel size of an image from its header, or null when the bytes given do not reach it
 * (a JPEG whose frame header lies beyond them) or are not a well-formed header of `type`.
 */
export function readImageInfo(type: ImageType, b: Uint8Array): ImageInfo | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16be = (o: number) => (o + 2 <= b.length ? view.getUint16(o) : -1);
  const u32be = (o: number) => (o + 4 <= b.length ? view.getUint32(o) : -1);
  const u16le = (o: number) => (o + 2 <= b.length ? view.getUint16(o, true) : -1);
  const u24le = (o: number) => (o + 3 <= b.length ? b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) : -1);
  const ok = (width: number, height: number, orientation = 1): ImageInfo | null =>
    width > 0 && height > 0 ? { width, height, orientation } : null;
  switch (type) {
    case "image/png":
      // The IHDR chunk comes first: width and height, big-endian, at 16 and 20.
      return b.length >= 24 && String.fromCharCode(...b.subarray(12, 16)) === "IHDR"
        ? ok(u32be(16), u32be(20))
        : null;
    case "image/gif":
      return b.length >= 10 ? ok(u16le(6), u16le(8)) : null;
    case "image/webp": {
      const chunk = String.fromCharCode(...b.subarray(12, 16));
      if (chunk === "VP8X") return ok(u24le(24) + 1, u24le(27) + 1);
      if (chunk === "VP8L" && b[20] === 0x2f) {
        const bits = view.getUint32(21, true);
        return ok((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
      }
      if (chunk === "VP8 " && b.length >= 30) return ok(u16le(26) & 0x3fff, u16le(28) & 0x3fff);
      return null;
    }
    case "image/jpeg":
      return readJpeg(b, u16be);
  }
}

/** Walks a JPEG's markers to its frame header (SOFn), noting the EXIF orientation on the way. */
function readJpeg(b: Uint8Array, u16be: (o: number) => number): ImageInfo | null {
  let orientation = 1;
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return null;
    const marker = b[o + 1]!;
    if (marker === 0xff) {
      o++; // fill byte
      continue;
    }
    const length = u16be(o + 2);
    if (length < 2) return null;
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = u16be(o + 5);
      const width = u16be(o + 7);
      return width > 0 && height > 0 ? { width, height, orientation } : null;
    }
    if (marker === 0xe1) orientation = exifOrientation(b.subarray(o + 4, o + 2 + length)) ?? orientation;
    if (marker === 0xda) return null; // scan data before any frame header
    o += 2 + length;
  }
  return null;
}

/** The orientation tag (0x0112) of IFD0 in an APP1 "Exif" payload, if present. */
function exifOrientation(p: Uint8Array): number | null {
  if (p.length < 14 || String.fromCharCode(...p.subarray(0, 4)) !== "Exif") return null;
  const tiff = p.subarray(6);
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const little = tiff[0] === 0x49;
  if (tiff.length < 8) return null;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return null;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return null;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : null;
    }
  }
  return null;
}

/** The size an image is shown at: orientations 5-8 turn it a quarter, swapping its sides. */
export function displaySize(info: ImageInfo): { width: number; height: number } {
  return info.orientation >= 5
    ? { width: info.height, height: info.width }
    : { width: info.width, height: info.height };
}

/** The largest size within `max` × `max` with the image's aspect ratio (never enlarged, at least 1 px). */
export function fitWithin(width: number, height: number, max: number): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height));
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}
