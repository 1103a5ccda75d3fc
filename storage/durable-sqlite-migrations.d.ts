/**
 * Types for the `migrations.js` that drizzle-kit writes for a Durable Object store
 * (driver "durable-sqlite"); drizzle's migrator reads it as-is.
 */
declare module "*/migrations.js" {
  const migrations: {
    journal: { entries: { idx: number; when: number; tag: string; breakpoints: boolean }[] };
    migrations: Record<string, string>;
  };
  export default migrations;
}
