/**
 * Boots the two servers the suite compares, both with wrangler's createTestHarness, and reads
 * the workerd processes that run them from /proc.
 *
 * createTestHarness starts two workerd processes per server: wrangler's ProxyWorker (the URL
 * `listen()` returns; every request and every WebSocket frame passes through one Durable
 * Object in it) and the runtime that runs the Worker itself. The suite talks to the runtime's
 * own socket, found among this process's workerd children, so frames go straight from Node to
 * the Worker as they would from the edge. `--via-proxy` measures through the ProxyWorker.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { createTestHarness } from "wrangler";
import { bootWorker, quietLocalObservability, ROOT } from "../../scripts/boot-worker.mjs";

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Vars the suite sets on the product: only limits, never a bypass (bench/README.md). */
export const PRODUCT_VARS = {
  LOGIN_LIMIT_PER_HANDLE: "100000",
  LOGIN_LIMIT_PER_CLIENT: "100000",
};

/** workerd processes whose parent is this Node process. */
function workerdChildren() {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === "workerd" && ppid === process.pid) out.push(Number(name));
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

/** TCP ports a process listens on (its socket inodes matched against /proc/net/tcp*). */
function listenPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length > 9 && c[3] === "0A" && inodes.has(c[9]))
        ports.push(Number.parseInt(c[1].split(":")[1], 16));
    }
  }
  return ports;
}

/** RSS (KiB) and CPU time (ms, user + system) of a process. */
export function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssKb, cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK };
}

/** CPU time of the whole machine in ms, busy (all processes) and total, from /proc/stat. */
export function machineCpuMs() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  // Steal: time the hypervisor gave this VM's CPUs to someone else (the host is shared).
  const steal = f[7] ?? 0;
  return {
    busyMs: ((total - idle - steal) * 1000) / CLK_TCK,
    stealMs: (steal * 1000) / CLK_TCK,
    totalMs: (total * 1000) / CLK_TCK,
  };
}

/** This Node process's CPU time in ms (the load generator's own cost). */
export function selfCpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Splits the workerd processes a boot started into the runtime and the ProxyWorker, and
 * gives the runtime's base URL.
 */
function locate(before, proxyUrl) {
  const proxyPort = Number(new URL(proxyUrl).port);
  const fresh = workerdChildren().filter((p) => !before.includes(p));
  let proxy;
  let runtime;
  let runtimePort;
  for (const pid of fresh) {
    const ports = listenPorts(pid);
    if (ports.includes(proxyPort)) proxy = pid;
    else if (ports.length > 0) {
      runtime = pid;
      runtimePort = ports[0];
    }
  }
  if (!runtime) throw new Error(`could not find the runtime workerd among ${fresh.join(", ")}`);
  return { runtime, proxy, runtimeUrl: `http://127.0.0.1:${runtimePort}` };
}

/** Runtime log lines at warn level or above, for the report (server-side problems). */
function problems(harness) {
  return () =>
    harness
      .getLogs()
      .filter((l) => ["warn", "error"].includes(l.level))
      .map((l) => ({ level: l.level, message: String(l.message).slice(0, 400) }));
}

function wrap(kind, harnessClose, proxyUrl, before, viaProxy) {
  const where = locate(before, proxyUrl);
  const pids = [where.runtime, where.proxy].filter(Boolean);
  return {
    kind,
    base: viaProxy ? proxyUrl : where.runtimeUrl,
    viaProxy,
    pids: { runtime: where.runtime, proxy: where.proxy ?? null },
    /** The runtime alone, or runtime + ProxyWorker when the traffic goes through it. */
    stat() {
      const list = viaProxy ? pids : [where.runtime];
      let rssKb = 0;
      let cpuMs = 0;
      for (const pid of list) {
        const s = procStat(pid);
        rssKb += s.rssKb;
        cpuMs += s.cpuMs;
      }
      return { rssKb, cpuMs };
    },
    close: harnessClose,
  };
}

/**
 * wrangler.toml serves the built web client (web/dist) as static assets, and wrangler refuses
 * to start without the directory; `npm start` and `npm test` build it first, so does this.
 */
function ensureWebBuild() {
  const script = join(ROOT, "scripts", "build-web.mjs");
  if (existsSync(join(ROOT, "web", "dist")) || !existsSync(script)) return;
  const r = spawnSync(process.execPath, [script], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error("scripts/build-web.mjs failed");
}

/** The real Worker (wrangler.toml) with an AUTH_SECRET the benchmark knows, D1 migrated. */
export async function bootProduct({ viaProxy = false, vars = {} } = {}) {
  ensureWebBuild();
  const before = workerdChildren();
  const authSecret = randomBytes(32).toString("base64url");
  const server = await bootWorker({
    vars: { ...PRODUCT_VARS, ...vars },
    secrets: { AUTH_SECRET: authSecret },
  });
  const s = wrap("product", () => server.close(), server.url, before, viaProxy);
  const env = await server.worker.getEnv();
  return { ...s, authSecret, env, worker: server.worker, problems: problems(server.harness) };
}

/** The floor (bench/floor): a Durable Object that broadcasts each frame to its room. */
export async function bootFloor({ viaProxy = false } = {}) {
  quietLocalObservability();
  const before = workerdChildren();
  const harness = createTestHarness({
    root: join(ROOT, "bench", "floor"),
    workers: [{ configPath: "./wrangler.toml" }],
  });
  const { url } = await harness.listen();
  const s = wrap("floor", () => harness.close(), url.toString().replace(/\/$/, ""), before, viaProxy);
  return {
    ...s,
    problems: problems(harness),
    /** This isolate's wake-up counters (FloorRoom constructions and socket messages). */
    async wakeups() {
      const res = await fetch(`${s.base}/stats`);
      return res.json();
    },
  };
}
