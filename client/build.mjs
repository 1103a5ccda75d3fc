// Builds the publishable package: esbuild bundles src/ into one ES module (dist/index.js; its
// dependencies stay imports), and tsc emits the declarations. The SDK imports the protocol's
// types from ../protocol, so declarations are emitted with the repository root as rootDir: they
// land in dist/types/client/src/ and dist/types/protocol/, and package.json "types" points at
// dist/types/client/src/index.d.ts. Run with `npm run build:client` (root) or `npm run build` here.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { build } from "esbuild";

const here = import.meta.dirname;
const dist = path.join(here, "dist");
const pkg = JSON.parse(readFileSync(path.join(here, "package.json"), "utf8"));

rmSync(dist, { recursive: true, force: true });

await build({
  entryPoints: [path.join(here, "src/index.ts")],
  outfile: path.join(dist, "index.js"),
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: Object.keys(pkg.dependencies ?? {}).flatMap((name) => [name, `${name}/*`]),
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", path.join(here, "tsconfig.build.json")], { stdio: "inherit" });

for (const target of [pkg.exports["."].import, pkg.exports["."].types]) {
  if (!existsSync(path.join(here, target))) throw new Error(`build: ${target} is missing`);
}
console.log(`built ${pkg.name}@${pkg.version} → ${path.relative(process.cwd(), dist)}`);
