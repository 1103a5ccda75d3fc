/**
 * @module workers/attachments/preview
 * An image's preview, made once when the image is stored: decoded with Photon (Rust's `image`
 * crate compiled to WebAssembly, packaged for Workers as @cf-wasm/photon), scaled to fit
 * PREVIEW_MAX_SIDE with the EXIF orientation applied, and encoded as JPEG (for a JPEG) or WebP
 * (for PNG, GIF and WebP: it keeps transparency). Clients show the preview inline at the image's
 * aspect ratio and fetch the full image only when it is opened.
 *
 * Decoding needs the whole image and its pixels in memory (4 bytes each), so only images up to
 * IMAGE_MAX_PIXELS get one (16 MP: 64 MB of pixels, within a Worker's 128 MB with the encoded
 * bytes beside them); larger ones are kept as files (docs/protocol.md §8.10). Every Photon
 * object is freed at once: its memory is the module's, not the garbage collector's.
 */
import { fliph, flipv, PhotonImage, resize, rotate, SamplingFilter } from "@cf-wasm/photon";
import { fitWithin, type ImageInfo } from "../../domain/file-type.ts";
import { PREVIEW_MAX_SIDE } from "../../protocol/limits.ts";

/** Images with more pixels than this are stored as files, without a preview. */
export const IMAGE_MAX_PIXELS = 16 * 1024 * 1024;

export interface Preview {
  bytes: Uint8Array;
  type: "image/jpeg" | "image/webp";
  width: number;
  height: number;
}

/** Decodes `bytes` and makes its preview; throws when the image cannot be decoded. */
export function makePreview(bytes: Uint8Array, type: string, info: ImageInfo): Preview {
  const owned: PhotonImage[] = [];
  const keep = (img: PhotonImage) => {
    owned.push(img);
    return img;
  };
  try {
    const image = keep(PhotonImage.new_from_byteslice(bytes));
    // Scaled as stored, then turned: the orientation swaps the sides of the result, not the work.
    const fit = fitWithin(image.get_width(), image.get_height(), PREVIEW_MAX_SIDE);
    let small =
      fit.width === image.get_width() && fit.height === image.get_height()
        ? image
        : keep(resize(image, fit.width, fit.height, SamplingFilter.Triangle));
    small = orient(small, info.orientation, keep);
    const jpeg = type === "image/jpeg";
    return {
      bytes: jpeg ? small.get_bytes_jpeg(80) : small.get_bytes_webp(),
      type: jpeg ? "image/jpeg" : "image/webp",
      width: small.get_width(),
      height: small.get_height(),
    };
  } finally {
    for (const img of owned) img.free();
  }
}

/** Applies an EXIF orientation (1-8) to the pixels. */
function orient(img: PhotonImage, orientation: number, keep: (i: PhotonImage) => PhotonImage): PhotonImage {
  const turned = (angle: number) => keep(rotate(img, angle));
  switch (orientation) {
    case 2:
      fliph(img);
      return img;
    case 3:
      return turned(180);
    case 4:
      flipv(img);
      return img;
    case 5: {
      const t = turned(90);
      fliph(t);
      return t;
    }
    case 6:
      return turned(90);
    case 7: {
      const t = turned(270);
      fliph(t);
      return t;
    }
    case 8:
      return turned(270);
    default:
      return img;
  }
}
