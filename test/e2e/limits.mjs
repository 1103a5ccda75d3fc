/**
 * The limits the Node end-to-end and browser tiers raise on the Worker they boot
 * (docs/protocol.md §10.2, "Local clients"). Every client of these tiers is 127.0.0.1, so the
 * per-address limit on sign-ups would count every test's accounts together; and tests seed
 * hundreds of messages from one device (up to 2,000) as fast as they can. Everything else is
 * wrangler.toml's: these tiers also show that the SDK and the web client, used as people use
 * them, stay under the defaults. test/e2e/sdk-rate-limits.test.mjs boots its own Worker with
 * small limits to test how the SDK handles refusals.
 */
export const TIER_LIMITS = {
  LIMIT_SIGNUPS_PER_ADDRESS: "100000/1s",
  LIMIT_SENDS_PER_DEVICE: "100000/1s",
  LIMIT_SENDS_PER_USER: "100000/1s",
  LIMIT_EDITS_PER_DEVICE: "100000/1s",
  LIMIT_REACTIONS_PER_DEVICE: "100000/1s",
  LIMIT_FRAMES_PER_SOCKET: "100000/1s",
  LIMIT_SYNCS_PER_SOCKET: "100000/1s",
};
