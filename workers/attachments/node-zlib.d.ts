/**
 * The part of node:zlib the upload uses (workers/attachments/upload.ts): workerd provides it
 * natively with `nodejs_compat`. Declared here because the Worker is type-checked against the
 * Workers types only, without @types/node.
 */
declare module "node:zlib" {
  /** CRC-32 (ISO-HDLC, as ZIP uses) of `data`, continuing from `value`. */
  export function crc32(data: Uint8Array | string, value?: number): number;
}
