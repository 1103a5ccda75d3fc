// Proves the vitest wiring: setup applied the D1 migrations and the test bindings are in place.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

it("applies D1 migrations before tests run", async () => {
  const query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'users'";
  const row = await env.DB.prepare(query).first<{ name: string }>();
  expect(row?.name).toBe("users");
});

it("overrides AUTH_SECRET with the fixed test value", () => {
  expect(env.AUTH_SECRET).toBe("test-secret-not-for-production-0123456789");
});
