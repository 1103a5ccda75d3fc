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
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestHarness } from "wrangler";
import { bootWorker, quietLocalObservability, ROOT } from "../../scripts/boot-worker.mjs";
import { generateVapidKeys } from "../../scripts/vapid.mjs";

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * Limits the suite raises where a scenario sends faster than a person could, on purpose
 * (bench/README.md, "Limits"): the saturation steps (100+ messages/s per sender) and the
 * resume scenario's 10,000 messages posted as fast as acks return. Only limits, never a
 * bypass: the limiter runs on every message all the same. dm, idle and flood run on
 * wrangler.toml's limits as they ship.
 */
export const SEND_VARS = {
  LIMIT_SENDS_PER_DEVICE: "1000000/1s",
  LIMIT_SENDS_PER_USER: "1000000/1s",
  LIMIT_EDITS_PER_DEVICE: "1000000/1s",
  LIMIT_REACTIONS_PER_DEVICE: "1000000/1s",
  LIMIT_FRAMES_PER_SOCKET: "1000000/1s",
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
  const server = await bootWorker({ vars, secrets: { AUTH_SECRET: authSecret } });
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

/**
 * The commit before flood control (issue #17): main's commit before the one that added
 * domain/rate-limit.ts (the merge of its branch). The flood scenario compares the 1:1 path
 * against it.
 */
export function defaultBaseline() {
  // On main's own line (--first-parent): the merge that brought flood control in, not the commit
  // of its branch, whose parent is older than everything main had by then.
  const added = execFileSync(
    "git",
    ["log", "--first-parent", "--diff-filter=A", "--format=%H", "--", "domain/rate-limit.ts"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  )
    .trim()
    .split("\n")
    .filter(Boolean)
    .at(-1);
  if (!added) throw new Error("no commit adds domain/rate-limit.ts: pass --baseline REF");
  return execFileSync("git", ["rev-parse", "--short=12", `${added}^`], {
    cwd: ROOT,
    encoding: "utf8",
  }).trim();
}

/**
 * The product as it was at commit `ref`, booted beside the current one so that both are
 * measured in the same run. Its files come from `git archive` into a temporary directory
 * (nothing is written to the repository: no worktree is added); node_modules and the built web
 * client are the current ones, so only the Worker's own code differs.
 */
export async function bootBaseline(ref, { viaProxy = false } = {}) {
  ensureWebBuild();
  const dir = mkdtempSync(join(tmpdir(), "edge-chat-baseline-"));
  const tar = execFileSync("git", ["archive", "--format=tar", ref], { cwd: ROOT, maxBuffer: 1 << 30 });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  cpSync(join(ROOT, "web", "dist"), join(dir, "web", "dist"), { recursive: true });
  quietLocalObservability();
  const before = workerdChildren();
  const authSecret = randomBytes(32).toString("base64url");
  const vapid = generateVapidKeys();
  const harness = createTestHarness({
    root: dir,
    workers: [
      {
        configPath: "./wrangler.toml",
        secrets: {
          AUTH_SECRET: authSecret,
          VAPID_PUBLIC_KEY: vapid.publicKey,
          VAPID_PRIVATE_KEY: vapid.privateKey,
        },
      },
    ],
  });
  const { url } = await harness.listen();
  const worker = harness.getWorker();
  await worker.applyD1Migrations("DB");
  const close = async () => {
    await harness.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const s = wrap("baseline", close, url.toString().replace(/\/$/, ""), before, viaProxy);
  const env = await worker.getEnv();
  return { ...s, ref, authSecret, env, worker, problems: problems(harness) };
}
