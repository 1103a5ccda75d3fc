#!/usr/bin/env bash
# Runs workerd with every line it prints stamped with the wall clock (Unix seconds), into
# $WORKERD_TRACE_DIR/workerd-<pid>.log (default bench/results/traces). Miniflare starts it in
# place of workerd when MINIFLARE_WORKERD_PATH points here; with MINIFLARE_WORKERD_V8_FLAGS,
# V8's own traces then land next to the benchmark's slowest messages (`slowest_messages` in
# the results, Unix ms). Example, from the repository root:
#
#   MINIFLARE_WORKERD_PATH=$PWD/bench/tools/workerd-trace.sh \
#   MINIFLARE_WORKERD_V8_FLAGS=--trace-gc-nvp npm run bench -- --only group
#
# The product's and the floor's runtimes (and wrangler's proxies) each get a log; the
# runtime's is the largest. docs/performance.md ("Tracing the runtime") shows how it was read.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
node="$root/node_modules/.bin/node"
dir="${WORKERD_TRACE_DIR:-$root/bench/results/traces}"
mkdir -p "$dir"
log="$dir/workerd-$$.log"
bin="$(cd "$root" && "$node" -p 'require("workerd").default')"
# exec keeps the pid and the control pipe (fd 3) miniflare gave this process; stdbuf makes
# workerd's stdio line-buffered, so each line is stamped when it is printed.
exec stdbuf -oL -eL "$bin" "$@" > >("$node" -e '
  const out = require("node:fs").createWriteStream(process.argv[1], { flags: "a" });
  require("node:readline").createInterface({ input: process.stdin }).on("line", (l) => {
    out.write(`${(Date.now() / 1000).toFixed(3)} ${l}\n`);
  });
' "$log") 2>&1
