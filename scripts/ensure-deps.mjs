// Shared by `npm start` and `npm test`, so either works first on a fresh clone: when wrangler is
// missing, run `npm install` against the committed lockfile (never `npm ci`: it rejects this
// lockfile, which lacks workerd's non-Linux optional packages). Plain Node APIs only: on a fresh
// clone npm runs these scripts with the system node (maybe Node 20); Node 22 arrives with install.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

export function ensureDeps(root) {
  if (existsSync(path.join(root, "node_modules", ".bin", "wrangler"))) return;
  console.log(
    "\n[deps] installing dependencies (npm install; EBADENGINE warnings under Node 20 are expected)",
  );
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error("[deps] npm install failed");
    process.exit(r.status || 1);
  }
}
