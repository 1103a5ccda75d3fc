// VAPID (RFC 8292) key pairs in the format the Worker reads (TOOLCHAIN.md §9): the public key is
// base64url of the 65-byte uncompressed P-256 point (0x04 ‖ x ‖ y), the private key base64url of the
// scalar (the JWK `d`). Plain node:crypto, so `npm start` can use it on the system Node before install.
import { createECDH, generateKeyPairSync } from "node:crypto";

/** A fresh pair: `{ publicKey, privateKey }`, both base64url. */
export function generateVapidKeys() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = privateKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.from([0x04]),
    Buffer.from(jwk.x, "base64url"),
    Buffer.from(jwk.y, "base64url"),
  ]);
  return { publicKey: point.toString("base64url"), privateKey: jwk.d };
}

/** The public key of a base64url private scalar, or null if it is not a valid P-256 private key. */
export function vapidPublicKeyOf(privateKey) {
  try {
    const d = Buffer.from(privateKey, "base64url");
    if (d.length !== 32) return null;
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(d);
    return ecdh.getPublicKey().toString("base64url");
  } catch {
    return null;
  }
}
