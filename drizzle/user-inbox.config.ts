import { defineConfig } from "drizzle-kit";

/** user-inbox Durable Object SQLite: applied per instance by drizzle's durable-sqlite migrator. */
export default defineConfig({
  dialect: "sqlite",
  driver: "durable-sqlite",
  schema: "./storage/user/schema.ts",
  out: "./migrations/user-inbox",
});
