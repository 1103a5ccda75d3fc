/**
 * @module domain/push-endpoint
 * Which URLs may be a push subscription's endpoint. The server POSTs notifications to it, so an
 * endpoint chosen by a client must not make the server send requests into a private network:
 * it must look like a public push service. A Worker cannot resolve a name before fetching it,
 * so this is a check of the URL's form only (docs/protocol.md §8.9):
 *
 * - `https`, without credentials (RFC 8030 §8: push services are https);
 * - not an IP address literal, v4 or v6 in any spelling (the URL parser normalises
 *   `0x7f.1` or `2130706433` to `127.0.0.1`);
 * - not a single-label name (`router`), and not a name under a suffix that is local or private
 *   by convention or by reservation: `localhost`, `local` (mDNS), `internal`, `home.arpa` and
 *   the rest of `arpa`, `lan`, `intranet`, `home`, `corp`, `private`, `localdomain`.
 *
 * A public name that resolves to a private address passes; that would need DNS.
 *
 * Local development names its local receivers explicitly (`PUSH_LOCAL_RECEIVERS`, origins
 * such as `http://127.0.0.1:8790`): an endpoint on exactly one of those origins is accepted,
 * over http too, and nothing else is relaxed.
 */

const LOCAL_SUFFIXES = [
  "localhost",
  "local",
  "internal",
  "arpa",
  "lan",
  "intranet",
  "home",
  "corp",
  "private",
  "localdomain",
];

/** The origins of `PUSH_LOCAL_RECEIVERS` (separated by commas or spaces); entries that are not URLs are skipped. */
export function localReceivers(setting: string | undefined): string[] {
  return (setting ?? "")
    .split(/[\s,]+/)
    .filter((entry) => URL.canParse(entry))
    .map((entry) => new URL(entry).origin);
}

/** Why this endpoint is refused, as the end of "endpoint …", or null when it is accepted. */
export function pushEndpointProblem(endpoint: string, receivers: readonly string[] = []): string | null {
  if (!URL.canParse(endpoint)) return "must be a URL";
  const url = new URL(endpoint);
  if (url.username !== "" || url.password !== "") return "must not carry credentials";
  if (receivers.includes(url.origin)) return null;
  if (url.protocol !== "https:") return "must be an https URL";
  const host = url.hostname.replace(/\.+$/, "");
  if (host.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(host))
    return "must name a public push service, not an IP address";
  const labels = host.split(".");
  if (labels.length < 2) return "must name a public push service, not a single-label host";
  if (LOCAL_SUFFIXES.includes(labels.at(-1) ?? ""))
    return `must name a public push service, not a local or private name (.${labels.at(-1)})`;
  return null;
}
