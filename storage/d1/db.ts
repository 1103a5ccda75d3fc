/**
 * @module storage/d1/db
 * The drizzle handle over the D1 binding. Repositories take it as an argument.
 */
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema.ts";

export type Db = ReturnType<typeof openDb>;

export function openDb(d1: D1Database) {
  return drizzle(d1, { schema });
}
