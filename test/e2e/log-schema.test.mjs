// Log lines are one documented schema (docs/operations.md, "Log lines"): only
// observability/log.ts writes to the console, and every event the code logs is in the events
// table (and every event there is still logged). test/workers/password-secrecy.test.ts checks
// real lines against the field list.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { codeFiles, ROOT } from "../../scripts/deploy-config.mjs";

const docs = readFileSync(path.join(ROOT, "docs/operations.md"), "utf8");

/** The first-column names of the table under a heading of docs/operations.md. */
function tableNames(heading) {
  const start = docs.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/operations.md has "${heading}"`);
  const section = docs.slice(start + heading.length + 2).split(/\n#{2,3} /)[0];
  return [...section.matchAll(/^\| `([a-z0-9_.]+)`\s*\|/gm)].map((m) => m[1]);
}

/** Event names in the code: the string literals of each log call's first argument. */
function loggedEvents() {
  const events = new Set();
  for (const { text } of codeFiles()) {
    for (const m of text.matchAll(/\blog\.(?:info|warn|error)\)?\(([^{)]*)/g)) {
      for (const lit of m[1].matchAll(/"([a-z_.]+)"/g))
        if (lit[1] === "metric" || lit[1].includes(".")) events.add(lit[1]);
    }
  }
  return events;
}

describe("log lines", () => {
  it("no code of the Worker writes to the console except observability/log.ts", () => {
    const offenders = codeFiles()
      .filter((f) => f.file !== path.join("observability", "log.ts"))
      .filter((f) => /\bconsole\.(log|info|warn|error|debug|trace)\b/.test(f.text))
      .map((f) => f.file);
    assert.deepEqual(offenders, []);
  });

  it("every event the code logs is documented, and every documented event is logged", () => {
    const logged = loggedEvents();
    assert.ok(logged.size >= 20, `found only ${[...logged]}`);
    const documented = new Set(tableNames("### Events"));
    assert.deepEqual([...logged].filter((e) => !documented.has(e)).sort(), [], "logged but not documented");
    assert.deepEqual([...documented].filter((e) => !logged.has(e)).sort(), [], "documented but never logged");
  });

  it("the documented fields are exactly LogFields", async () => {
    const { LOG_FIELD_NAMES } = await import("../../observability/log.ts");
    assert.deepEqual(tableNames("### Fields").sort(), [...LOG_FIELD_NAMES].sort());
  });
});
