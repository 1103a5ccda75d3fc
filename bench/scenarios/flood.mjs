/**
 * flood (issue #17): one abusive user floods the product while a quiet 1:1 pair talks at
 * `quietRate` messages/s, on a server with wrangler.toml's limits as they ship. Phases, each
 * `phaseSeconds` of the quiet pair's messages:
 *   quiet    the pair alone: the reference;
 *   socket   the flooder sends `send` frames on its channel socket as fast as the generator
 *            can, and, when the server closes the socket (4029), reconnects at once and goes on,
 *            as a hostile client would;
 *   rest     `restClients` concurrent loops post over REST as fast as answers come back, on
 *            the flooder's devices;
 *   after    the pair alone again.
 * Figures per phase: the quiet pair's send→recipient and send→ack p50/p99/max, lost and
 * duplicates; the flooder's frames or requests, how many were stored (its accepted rate) and
 * refused, closes and refused reconnects; the server's CPU, and from it the CPU per refused
 * frame or request: the phase's CPU less the quiet phase's CPU per second, over everything
 * the flooder sent that was not stored (refused, or read and dropped after its socket's close,
 * and its refused reconnects).
 * For scale, the same loops then ask for an unknown path (404) for a second: the CPU of the
 * cheapest request the runtime serves, most of which is its HTTP path, which no limit avoids.
 * Target: the quiet pair's p99 during a flood within 2× its p99 without.
 */
import { performance } from "node:perf_hooks";
import { TEXT } from "../lib/load.mjs";
import { befriendAll, openDm, seededAccounts } from "../lib/seed.mjs";
import { connectProduct, makeApi, sleep } from "../lib/sockets.mjs";
import * as dm from "./dm.mjs";

/** The flooder's devices (the cap on devices per account is 10, and seeding is not a login). */
const FLOOD_DEVICES = 10;
/** Bytes the generator lets wait unsent on the flooder's socket before it pauses a moment. */
const MAX_UNSENT = 1 << 20;

/** Sets up the quiet pair and the flooder on `server` (booted with the default limits). */
export async function setupFlood(server, cfg, stats) {
  const api = makeApi(server.base);
  const accounts = seededAccounts(server);
  const quiet = await dm.setupProduct(
    server,
    { pairs: 1, rate: cfg.quietRate, seconds: cfg.phaseSeconds },
    stats,
    accounts,
  );
  const [flooder] = await accounts.users(1, { prefix: "flood", devicesPerUser: FLOOD_DEVICES });
  const [target] = await accounts.users(1, { prefix: "target" });
  await befriendAll(api, [[flooder, target]]);
  const channelId = await openDm(api, flooder, target);
  return { api, quiet, flooder, channelId, stats };
}

/** The socket flood: runs until `stop()`; returns its counts. */
async function socketFlood(s, stop) {
  const c = {
    frames: 0,
    accepted: 0,
    refused: 0,
    other_errors: 0,
    closes: {},
    connects: 0,
    connect_refused: 0,
  };
  const device = s.flooder.devices[0];
  let n = 0;
  while (!stop()) {
    let socket;
    try {
      c.connects++;
      socket = await connectProduct(
        s.api,
        device,
        s.channelId,
        (text) => {
          if (text.startsWith('{"v":1,"type":"ack"')) c.accepted++;
          else if (text.includes('"code":"rate_limited"')) c.refused++;
          else if (text.includes('"type":"error"')) c.other_errors++;
        },
        s.stats,
      );
    } catch {
      c.connect_refused++; // a 429 on POST /v1/connect, or a refused upgrade: try again at once
      await sleep(20);
      continue;
    }
    let open = true;
    socket.ws.addEventListener("close", (e) => {
      open = false;
      c.closes[e.code] = (c.closes[e.code] ?? 0) + 1;
    });
    while (open && !stop()) {
      // As fast as the generator can, without queueing more than MAX_UNSENT in this process.
      if ((socket.ws.sock?.writableLength ?? 0) < MAX_UNSENT) {
        for (let i = 0; i < 50 && open; i++) {
          try {
            socket.send(`{"v":1,"type":"send","id":"f${n}","client_msg_id":"flood-${n}","text":"${TEXT}"}`);
            n++;
            c.frames++;
          } catch {
            open = false;
          }
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.close();
  }
  return c;
}

/** The REST flood: `clients` loops posting until `stop()`; returns its counts. */
async function restFlood(s, clients, stop) {
  const c = { requests: 0, accepted: 0, refused: 0, other: 0 };
  let n = 0;
  const loop = async (k) => {
    const device = s.flooder.devices[k % s.flooder.devices.length];
    while (!stop()) {
      const id = `rest-${n++}`;
      c.requests++;
      const res = await fetch(`${s.base}/v1/channels/${s.channelId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${device.token}`, "content-type": "application/json" },
        body: JSON.stringify({ client_msg_id: id, text: TEXT }),
      }).catch(() => null);
      if (!res) continue;
      await res.arrayBuffer();
      if (res.status === 201) c.accepted++;
      else if (res.status === 429) c.refused++;
      else c.other++;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => loop(k)));
  return c;
}

/** The server CPU of the cheapest request (a 404), from `clients` loops for `ms`. */
async function cheapestRequest(server, clients, ms) {
  let n = 0;
  let stopped = false;
  const cpu0 = server.stat().cpuMs;
  setTimeout(() => {
    stopped = true;
  }, ms);
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!stopped) {
        const res = await fetch(`${server.base}/v1/no-such-endpoint`).catch(() => null);
        await res?.arrayBuffer();
        n++;
      }
    }),
  );
  return {
    requests: n,
    cpu_us_per_request: n > 0 ? Math.round(((server.stat().cpuMs - cpu0) * 1000) / n) : null,
  };
}

/** One phase: the quiet pair's run, with the flood (if any) going on throughout. */
async function phase(server, s, cfg, name, tag, flood) {
  let stopped = false;
  const stop = () => stopped;
  const t0 = performance.now();
  const cpu0 = server.stat().cpuMs;
  const flooding = flood ? flood(stop) : null;
  if (flooding) await sleep(cfg.rampMs); // the flood is in full swing before the pair speaks
  const quiet = await s.quiet.run(tag, { rate: cfg.quietRate, seconds: cfg.phaseSeconds });
  stopped = true;
  const counts = flooding ? await flooding : null;
  const wallMs = performance.now() - t0;
  const cpuMs = server.stat().cpuMs - cpu0;
  return {
    phase: name,
    quiet: {
      send_to_recipient_ms: quiet.send_to_recipient_ms,
      send_to_ack_ms: quiet.send_to_ack_ms,
      sent: quiet.sent,
      lost: quiet.lost,
      duplicates: quiet.duplicates,
      unacked: quiet.unacked,
      error_frames: quiet.error_frames ?? 0,
    },
    flooder: counts,
    wall_ms: Math.round(wallMs),
    server_cpu_ms: Math.round(cpuMs),
    server_cpu_pct: Math.round((cpuMs / wallMs) * 1000) / 10,
  };
}

/** Runs the four phases on a set-up flood; returns the scenario's figures. */
export async function runFlood(server, s, cfg, tagPrefix) {
  s.base = server.base;
  const phases = [];
  phases.push(await phase(server, s, cfg, "quiet", `${tagPrefix}q`, null));
  phases.push(await phase(server, s, cfg, "socket", `${tagPrefix}s`, (stop) => socketFlood(s, stop)));
  phases.push(
    await phase(server, s, cfg, "rest", `${tagPrefix}r`, (stop) => restFlood(s, cfg.restClients, stop)),
  );
  phases.push(await phase(server, s, cfg, "after", `${tagPrefix}a`, null));
  const [quiet] = phases;
  const quietCpuPerMs = quiet.server_cpu_ms / quiet.wall_ms;
  for (const p of phases) {
    const f = p.flooder;
    if (!f) continue;
    const seconds = p.wall_ms / 1000;
    f.accepted_per_s = Math.round((f.accepted / seconds) * 10) / 10;
    f.sent_per_s = Math.round(((f.frames ?? f.requests) / seconds) * 10) / 10;
    // What the flood cost the server, over what it sent that was not stored: refused frames or
    // requests, frames read after the socket's close (the runtime reads them all), and refused
    // reconnects (tickets refused during the pause after a close for flooding).
    const floodCpuMs = p.server_cpu_ms - quietCpuPerMs * p.wall_ms;
    f.not_stored = (f.frames ?? f.requests) - f.accepted + (f.connect_refused ?? 0);
    f.cpu_us_per_refusal = f.not_stored > 0 ? Math.round((floodCpuMs * 1000) / f.not_stored) : null;
    p.quiet_p99_vs_quiet = ratio(p.quiet.send_to_recipient_ms.p99, quiet.quiet.send_to_recipient_ms.p99);
  }
  const worst = Math.max(...phases.filter((p) => p.flooder).map((p) => p.quiet_p99_vs_quiet ?? 0));
  return {
    phases,
    cheapest_request: await cheapestRequest(server, cfg.restClients, 1_000),
    lost: phases.reduce((n, p) => n + p.quiet.lost, 0),
    duplicates: phases.reduce((n, p) => n + p.quiet.duplicates, 0),
    worst_p99_ratio: worst,
    target_met: worst <= 2,
  };
}

function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? Math.round((a / b) * 100) / 100 : null;
}
