// Test-only bindings that vitest.config.ts adds on top of wrangler.toml (see worker-configuration.d.ts).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
