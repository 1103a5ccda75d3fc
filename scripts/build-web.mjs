// Builds the web client (web/) into web/dist/, the directory Workers Static Assets serves
// (wrangler.toml [assets]). web/static/* is copied as is (index.html, style.css, sw.js, icon);
// web/src/main.ts is bundled with the SDK from client/src by esbuild: one minified ES module,
// app.js, with a linked source map. web/dist/ is generated and gitignored.
//
//   node scripts/build-web.mjs            build once (npm run build:web; npm start and npm test do this)
//   node scripts/build-web.mjs --watch    build, then rebuild on every change under web/ and client/
//                                         (--no-initial: skip the first build; npm start has just built)
//
// Files are overwritten in place and stale ones removed afterwards, never by wiping the
// directory first, so a Worker serving web/dist meanwhile never sees it missing.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, watch } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STATIC_DIR = path.join(ROOT, "web", "static");
export const WEB_DIST = path.join(ROOT, "web", "dist");

/** esbuild options for the app bundle; `write: false` so the caller places the output. */
function bundleOptions() {
  return {
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, "web", "src", "main.ts")],
    outfile: path.join(WEB_DIST, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "silent",
    metafile: true,
  };
}

function copyStatic(outdir) {
  const written = [];
  for (const name of readdirSync(STATIC_DIR)) {
    const from = path.join(STATIC_DIR, name);
    if (!statSync(from).isFile()) continue;
    copyFileSync(from, path.join(outdir, name));
    written.push(name);
  }
  return written;
}

/**
 * Builds web/dist once and returns what it wrote. Throws on a build error.
 * @param {{ quiet?: boolean }} [options]
 */
export async function buildWeb({ quiet = false } = {}) {
  const started = performance.now();
  mkdirSync(WEB_DIST, { recursive: true });
  const result = await esbuild.build(bundleOptions());
  const written = new Set(copyStatic(WEB_DIST));
  for (const out of Object.keys(result.metafile.outputs)) written.add(path.basename(out));
  for (const name of readdirSync(WEB_DIST)) {
    if (!written.has(name)) rmSync(path.join(WEB_DIST, name), { recursive: true, force: true });
  }
  if (!quiet) {
    const js = statSync(path.join(WEB_DIST, "app.js")).size;
    const ms = Math.round(performance.now() - started);
    console.log(
      `[build-web] web/dist: ${[...written].sort().join(", ")} (app.js ${(js / 1024).toFixed(1)} KiB) in ${ms} ms`,
    );
  }
  return { outdir: WEB_DIST, files: [...written].sort() };
}

/**
 * Builds (unless `initial` is false), then rebuilds on changes under web/src, web/static and
 * client/src until the process ends.
 */
export async function watchWeb({ initial = true } = {}) {
  if (initial) await buildWeb();
  let timer;
  let running = Promise.resolve();
  const rebuild = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(() => buildWeb().catch((e) => console.error(`[build-web] ${e.message}`)));
    }, 50);
  };
  for (const dir of ["web/src", "web/static", "client/src"]) {
    const abs = path.join(ROOT, dir);
    if (existsSync(abs)) watch(abs, { recursive: true }, rebuild);
  }
  console.log("[build-web] watching web/ and client/ for changes");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    if (process.argv.includes("--watch")) await watchWeb({ initial: !process.argv.includes("--no-initial") });
    else await buildWeb();
  } catch (e) {
    console.error(`[build-web] failed: ${e.message}`);
    process.exit(1);
  }
}
