// Vitest setup file: every test file starts with fresh storage, so bring D1 to the current schema first.
// If a test calls reset() from "cloudflare:test", it must re-run applyD1Migrations (reset drops the tables).
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
