/**
 * The part of node:crypto the channel uses (storage/channel/native-sha256.ts): workerd provides it
 * with `nodejs_compat`. Declared here because the Worker is type-checked against the Workers
 * types only, without @types/node.
 */
declare module "node:crypto" {
  interface Hash {
    update(data: Uint8Array): Hash;
    digest(): Uint8Array;
  }
  export function createHash(algorithm: "sha256"): Hash;
}
