/**
 * @module domain/client-address
 * The address a request comes from, as the per-address limits count it. On Cloudflare the edge
 * sets `CF-Connecting-IP`, and a client cannot: it overwrites whatever the request carried.
 * Locally there may be none: every local client is then the one address `"local"`, and tests
 * that want to be told apart send `CF-Connecting-IP` themselves (docs/protocol.md §10, "Local
 * clients"). An IPv6 address counts as its /64: one subscriber usually holds a whole /64 and
 * could otherwise take a fresh address for every attempt.
 */

/** The key a request's address counts under, from its `CF-Connecting-IP` header. */
export function clientAddress(header: string | null | undefined): string {
  const ip = header?.trim();
  if (!ip) return "local";
  return ip.includes(":") ? ipv6Prefix64(ip) : ip;
}

/** The first four hextets of an IPv6 address, expanded (`2001:db8::1` → `2001:db8:0:0::/64`). */
function ipv6Prefix64(ip: string): string {
  const bare = ip
    .replace(/^\[|\]$/g, "")
    .split("%")[0]!
    .toLowerCase();
  const [head = "", tail] = bare.split("::");
  const left = head ? head.split(":") : [];
  const right = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : Math.max(0, 8 - left.length - right.length);
  const groups = [...left, ...Array<string>(missing).fill("0"), ...right];
  const prefix = groups.slice(0, 4).map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? g.replace(/^0+(?=.)/, "") : g));
  while (prefix.length < 4) prefix.push("0");
  return `${prefix.join(":")}::/64`;
}
