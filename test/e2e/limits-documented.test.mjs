// Every flood limit is configuration, and documented: each `LIMIT_*` setting of wrangler.toml
// [vars] has a row in the table of docs/protocol.md §10.1 with the same default, the product
// reads exactly those settings (domain/limits.ts), and each default parses.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LIMIT_SETTINGS, readLimits } from "../../domain/limits.ts";
import { ROOT } from "../../scripts/boot-worker.mjs";

/** The `[vars]` of wrangler.toml: `NAME = "value"` lines up to the next table. */
function wranglerVars() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const section = toml.slice(toml.indexOf("[vars]"));
  const body = section.slice(0, section.indexOf("\n[", 1));
  return Object.fromEntries([...body.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
}

/** Rows of the flood-limits table: setting → default, as written. */
function documentedLimits() {
  const doc = readFileSync(join(ROOT, "docs", "protocol.md"), "utf8");
  const start = doc.indexOf("### 10.1 Flood limits");
  assert.ok(start >= 0, "docs/protocol.md has a §10.1 Flood limits");
  const section = doc.slice(start, doc.indexOf("\n### ", start + 1));
  const rows = [...section.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|\s*`([^`]*)`\s*\|/gm)];
  return Object.fromEntries(rows.map((m) => [m[1], m[2]]));
}

describe("flood limits", () => {
  it("are all settings of wrangler.toml, each with a row and its default in docs/protocol.md §10.1", () => {
    const vars = wranglerVars();
    const configured = Object.keys(vars).filter((k) => k.startsWith("LIMIT_"));
    const documented = documentedLimits();
    for (const name of configured) {
      assert.ok(
        name in documented,
        `${name} is set in wrangler.toml but has no row in docs/protocol.md §10.1`,
      );
      assert.equal(
        documented[name],
        vars[name],
        `${name}: the documented default differs from wrangler.toml`,
      );
    }
    for (const name of Object.keys(documented))
      assert.ok(name in vars, `docs/protocol.md §10.1 lists ${name}, which wrangler.toml does not set`);
    assert.deepEqual([...configured].sort(), [...LIMIT_SETTINGS].sort(), "the settings the product reads");
  });

  it("parse, with wrangler.toml's defaults", () => {
    const limits = readLimits(wranglerVars());
    assert.equal(limits.devicesPerUser, 10);
    assert.deepEqual(limits.sendsPerDevice, { burst: 60, periodMs: 10_000 });
  });
});
