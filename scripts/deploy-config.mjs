/**
 * What `wrangler.toml` declares per environment, against what the code uses. Shared by
 * test/e2e/deploy-config.test.mjs and scripts/check-deploy.mjs (CI).
 *
 * Wrangler inherits no binding and no var into an `[env.*]` section, so a binding added at the
 * top level (where `npm start` and the tests see it) and forgotten in `[env.production]` would
 * deploy a Worker whose `env.X` is undefined. The check is generic, so it covers bindings added
 * later: a name counts as used when the code (every non-test .ts file of the Worker's folders)
 * reads `env.NAME`, or names a setting that some environment declares (the `LIMIT_*` table in
 * domain/limits.ts reads its vars by key).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { unstable_readConfig } from "wrangler";

export const ROOT = path.resolve(import.meta.dirname, "..");
/** The deployed environments, in the order docs/deploy.md sets them up. */
export const ENVIRONMENTS = ["staging", "production"];
/** The folders bundled into the Worker (wrangler.toml `main` imports from these). */
export const CODE_DIRS = ["workers", "durable-objects", "domain", "storage", "protocol", "observability"];

/** The config of one environment as wrangler resolves it (undefined: the top level). */
export function readEnvConfig(env, configPath = path.join(ROOT, "wrangler.toml")) {
  return unstable_readConfig({ config: configPath, env }, { hideWarnings: true });
}

/** Every name an environment gives the Worker: vars, secrets, and bindings of any kind. */
export function declaredNames(config) {
  const names = new Set([...Object.keys(config.vars ?? {}), ...(config.secrets?.required ?? [])]);
  const visit = (value, key) => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v, key);
      return;
    }
    if (value === null || typeof value !== "object") return;
    if (typeof value.binding === "string") names.add(value.binding);
    // Durable Object bindings name themselves `name` (durable_objects.bindings[]).
    if (key === "bindings" && typeof value.name === "string" && typeof value.class_name === "string")
      names.add(value.name);
    for (const [k, v] of Object.entries(value)) if (k !== "vars" && k !== "env") visit(v, k);
  };
  visit(config, "");
  return names;
}

/** Non-test TypeScript sources of the Worker, as { file, text }. */
export function codeFiles(root = ROOT, dirs = CODE_DIRS) {
  return dirs.flatMap((dir) => {
    let entries;
    try {
      entries = readdirSync(path.join(root, dir), { recursive: true });
    } catch {
      return [];
    }
    return entries
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith(".d.ts"))
      .map((f) => ({ file: path.join(dir, f), text: readFileSync(path.join(root, dir, f), "utf8") }));
  });
}

/**
 * The names the code uses: `env.NAME` reads, and any of `knownNames` (what some environment
 * declares) written as a whole word.
 */
export function usedNames(files, knownNames) {
  const used = new Map();
  const note = (name, file) => {
    if (!used.has(name)) used.set(name, new Set());
    used.get(name).add(file);
  };
  for (const { file, text } of files) {
    for (const m of text.matchAll(/\benv\??\.([A-Z][A-Z0-9_]*)\b/g)) note(m[1], file);
    for (const name of knownNames) if (new RegExp(`\\b${name}\\b`).test(text)) note(name, file);
  }
  return used;
}

/** Per environment (top level as "(top level)"), the names the code uses that it lacks. */
export function missingBindings(configs, used) {
  const missing = {};
  for (const [env, config] of Object.entries(configs)) {
    const have = declaredNames(config);
    const lacking = [...used.keys()].filter((n) => !have.has(n)).sort();
    if (lacking.length > 0) missing[env] = lacking.map((n) => `${n} (used in ${[...used.get(n)].sort()[0]})`);
  }
  return missing;
}

/** Every environment's config, and what the code uses of them. */
export function loadAll() {
  const configs = { "(top level)": readEnvConfig(undefined) };
  for (const env of ENVIRONMENTS) configs[env] = readEnvConfig(env);
  const known = new Set(Object.values(configs).flatMap((c) => [...declaredNames(c)]));
  const used = usedNames(codeFiles(), known);
  return { configs, used };
}
