import { defineConfig } from "drizzle-kit";

/** D1: `npm run db:generate` writes migrations/d1; wrangler and the test setup apply them. */
export default defineConfig({
  dialect: "sqlite",
  schema: "./storage/d1/schema.ts",
  out: "./migrations/d1",
});
