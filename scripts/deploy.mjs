// `npm run deploy -- --env staging|production`: the one command that deploys (docs/deploy.md
// creates the resources and secrets first). In order:
//   1. refuse an environment whose D1 database id is still wrangler.toml's placeholder (step 2 of
//      docs/deploy.md not done) or whose config lacks a binding the code uses;
//   2. build the web client into web/dist (the static assets the Worker serves);
//   3. apply the D1 migrations to that environment's database (`wrangler d1 migrations apply DB
//      --remote --env <env>`; applied ones are skipped, so this is safe to repeat);
//   4. `wrangler deploy --env <env>`, with any further arguments passed on to it.
// Migrations go first: the new code may read a column an old schema lacks, while the old code
// never reads what a migration adds (migrations only add; see docs/deploy.md).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ENVIRONMENTS, loadAll, missingBindings, ROOT, readEnvConfig } from "./deploy-config.mjs";

const PLACEHOLDER_ID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;

function fail(message) {
  console.error(`[deploy] ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const rest = [];
  let env = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--env" || a === "-e") env = argv[++i] ?? null;
    else if (a.startsWith("--env=")) env = a.slice("--env=".length);
    else rest.push(a);
  }
  return { env, rest };
}

const { env, rest } = parseArgs(process.argv.slice(2));
if (!env || !ENVIRONMENTS.includes(env))
  fail(`name the environment: npm run deploy -- --env ${ENVIRONMENTS.join("|")} (docs/deploy.md)`);

const config = readEnvConfig(env);
const db = config.d1_databases.find((d) => d.binding === "DB");
if (!db || PLACEHOLDER_ID.test(db.database_id ?? ""))
  fail(
    `wrangler.toml [[env.${env}.d1_databases]] still has the placeholder database_id: run ` +
      `\`wrangler d1 create ${db?.database_name ?? `edge-chat-${env}`}\` and paste its id (docs/deploy.md, step 2)`,
  );
const { configs, used } = loadAll();
const missing = missingBindings({ [env]: configs[env] }, used)[env];
if (missing) fail(`wrangler.toml [env.${env}] lacks what the code uses: ${missing.join(", ")}`);

const node = process.execPath;
const wrangler = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
function step(what, args) {
  console.log(`\n[deploy] ${what}`);
  const r = spawnSync(node, args, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) fail(`${what} failed`);
}

step("building the web client", ["scripts/build-web.mjs"]);
step(`applying D1 migrations to ${db.database_name}`, [
  wrangler,
  "d1",
  "migrations",
  "apply",
  "DB",
  "--remote",
  "--env",
  env,
]);
step(`deploying edge-chat-${env}`, [wrangler, "deploy", "--env", env, ...rest]);
