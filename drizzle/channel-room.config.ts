import { defineConfig } from "drizzle-kit";

/** channel-room Durable Object SQLite: applied per instance by drizzle's durable-sqlite migrator. */
export default defineConfig({
  dialect: "sqlite",
  driver: "durable-sqlite",
  schema: "./storage/channel/schema.ts",
  out: "./migrations/channel-room",
});
