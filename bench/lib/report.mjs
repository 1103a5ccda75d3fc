/**
 * Turns a suite's results into the headline table (product, floor, ratio), the targets with
 * their verdicts, the markdown report and the SVG chart of latency percentiles.
 */

const fmt = (v, digits = 1) => {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return v.toFixed(digits);
};
const signed = (v) =>
  typeof v === "number" && Number.isFinite(v) ? `${v >= 0 ? "+" : "−"}${fmt(Math.abs(v), 2)}` : "–";
const ratio = (p, f) =>
  typeof p === "number" && typeof f === "number" && f > 0 ? Math.round((p / f) * 100) / 100 : null;

/** Rows of figure | product | floor | ratio, from the medians. */
export function headline(s) {
  const rows = [];
  let scn = null;
  const runs = () => [scn?.product?.runs?.length ?? 0, scn?.floor?.runs?.length ?? 0];
  const add = (figure, unit, product, floor, note = "", count = runs()) =>
    rows.push({ figure, unit, product, floor, ratio: ratio(product, floor), note, runs: count });
  const gm = s.group_viewing?.members ?? s.group_user?.members ?? 100;
  const pct = (scn, key) =>
    ["p50", "p95", "p99", "max"].map((p) => [
      p,
      scn?.product?.median?.[key]?.[p],
      scn?.floor?.median?.[key]?.[p],
    ]);
  scn = s.dm;
  if (s.dm) {
    for (const [p, a, b] of pct(s.dm, "send_to_ack_ms"))
      add(`1:1 send→ack at ${s.dm.rate} msg/s, ${p}`, "ms", a, b, "floor: the sender's own copy");
    for (const [p, a, b] of pct(s.dm, "send_to_recipient_ms"))
      add(`1:1 send→recipient at ${s.dm.rate} msg/s, conversation open, ${p}`, "ms", a, b);
  }
  scn = s.dm_fast;
  if (s.dm_fast) {
    for (const [p, a, b] of pct(s.dm_fast, "send_to_ack_ms"))
      add(`1:1 send→ack at ${s.dm_fast.rate} msg/s, ${p}`, "ms", a, b, "floor: the sender's own copy");
    for (const [p, a, b] of pct(s.dm_fast, "send_to_recipient_ms"))
      add(`1:1 send→recipient at ${s.dm_fast.rate} msg/s, conversation open, ${p}`, "ms", a, b);
  }
  scn = s.dm_plain;
  if (s.dm_plain) {
    for (const [p, a, b] of pct(s.dm_plain, "send_to_recipient_ms"))
      add(
        `1:1 send→recipient at ${s.dm_plain.rate} msg/s, no markers, ${p}`,
        "ms",
        a,
        b,
        "the earlier client",
      );
  }
  scn = s.group_viewing;
  if (s.group_viewing) {
    for (const [p, a, b] of pct(s.group_viewing, "fanout_to_last_ms"))
      add(`${gm}-member fan-out to the last member, viewing, ${p}`, "ms", a, b);
    add(
      `${gm}-member, viewing: deliveries/s`,
      "/s",
      s.group_viewing.product?.median?.deliveries_per_s,
      s.group_viewing.floor?.median?.deliveries_per_s,
    );
  }
  scn = s.group_viewing_plain;
  if (s.group_viewing_plain) {
    for (const [p, a, b] of pct(s.group_viewing_plain, "fanout_to_last_ms"))
      add(
        `${gm}-member fan-out to the last member, viewing, no markers, ${p}`,
        "ms",
        a,
        b,
        "the earlier client",
      );
  }
  scn = s.group_user;
  if (s.group_user) {
    for (const [p, a, b] of pct(s.group_user, "fanout_to_last_ms"))
      add(
        `${gm}-member fan-out to the last member, user sockets only, ${p}`,
        "ms",
        a,
        b,
        "floor: the same room",
      );
    add(
      `${gm}-member, user sockets only: deliveries/s`,
      "/s",
      s.group_user.product?.median?.deliveries_per_s,
      s.group_user.floor?.median?.deliveries_per_s,
    );
  }
  for (const [key, label] of [
    ["saturate", ""],
    ["saturate_plain", ", no markers"],
  ]) {
    scn = s[key];
    if (!scn) continue;
    const m = (side, k) => scn[side]?.median?.[k];
    add(
      `saturation${label}: sustained messages/s (one ${scn.members}-member channel)`,
      "/s",
      m("product", "sustained_msgs_per_s"),
      m("floor", "sustained_msgs_per_s"),
    );
    add(
      `saturation${label}: sustained deliveries/s`,
      "/s",
      m("product", "sustained_deliveries_per_s"),
      m("floor", "sustained_deliveries_per_s"),
    );
  }
  scn = s.resume;
  if (s.resume) {
    add(
      `resume ${s.resume.product?.median?.messages_missed ?? ""} missed messages: resume → resumed`,
      "ms",
      s.resume.product?.median?.resume_to_resumed_ms,
      null,
      "no floor: the floor stores nothing",
    );
  }
  scn = null;
  const a = s.archive;
  if (a) {
    const none = "no floor: the floor stores nothing";
    for (const [key, where] of [
      ["sqlite", "from SQLite"],
      ["r2_cold", "from R2, cold"],
      ["r2_cached", "from R2, cached"],
    ]) {
      for (const p of ["p50", "p99"])
        add(
          `history page of 50, ${where}, ${p}`,
          "ms",
          a.history_page_ms?.[key]?.[p],
          null,
          `${none}; pages`,
          [a.history_page_ms?.[key]?.n ?? 0, 0],
        );
    }
    for (const [key, where] of [
      ["sqlite", "all in SQLite"],
      ["r2_cold", "all in R2, cold"],
      ["r2_cached", "all in R2, cached"],
    ])
      add(
        `resume of ${fmt(a.messages, 0)} missed messages, ${where}: resume → resumed`,
        "ms",
        a.resume?.[key]?.median?.resume_to_resumed_ms,
        null,
        none,
        [a.resume?.[key]?.runs?.length ?? 0, 0],
      );
    const d = a.dm_while_sealing;
    for (const [key, label] of [
      ["baseline", "nothing sealing"],
      ["sealing", `sealing every ${a.sealingSegment} messages`],
    ])
      for (const p of ["p50", "p99"])
        add(
          `1:1 send→recipient at ${a.dmRate} msg/s, ${label}, ${p}`,
          "ms",
          d?.[key]?.median?.send_to_recipient_ms?.[p],
          null,
          key === "sealing" ? `${d.segments_sealed.join(", ")} segments sealed in the runs` : "",
          [d?.[key]?.runs?.length ?? 0, 0],
        );
    add(
      "the chain per 100-character message (digest + link, workerd)",
      "µs",
      a.chain?.per_message_us?.["100 chars"]?.nativeUs,
      null,
      a.chain ? "bench/chain-cost.bench.ts" : "full runs only",
      [a.chain ? 1 : 0, 0],
    );
    const chars = a.bytes_per_message?.text_chars;
    add(
      `bytes per message in SQLite (${chars}-character chat texts)`,
      "B",
      a.bytes_per_message?.sqlite,
      null,
      none,
    );
    add(
      `bytes per message in R2 (${chars}-character chat texts)`,
      "B",
      a.bytes_per_message?.r2,
      null,
      `segments of ${fmt(a.segment, 0)}, ${fmt(a.bytes_per_message?.r2_segment_bytes, 0)} B each`,
    );
  }
  scn = s.idle;
  if (s.idle) {
    const p = s.idle.product?.median;
    const f = s.idle.floor?.median;
    add(
      `idle: memory per connected device (${fmt(p?.devices, 0)} devices)`,
      "KiB",
      p?.memory_per_device_kb,
      f?.memory_per_device_kb,
      "RSS of the runtime",
    );
    add(
      "idle: CPU per 1,000 devices",
      "ms/s",
      p?.idle_cpu_ms_per_s_per_1000_devices,
      f?.idle_cpu_ms_per_s_per_1000_devices,
    );
    add("idle: wake-ups caused by heartbeats", "", p?.heartbeat_wakeups, f?.heartbeat_wakeups);
  }
  return rows;
}

/**
 * The issue's targets, each met or missed with its measured value (never fudged): rows of
 * figure | product | floor | product / floor | target | verdict, plus `measured` in words.
 */
export function targets(s, totals) {
  const out = [];
  const gm = s.group_viewing?.members ?? s.group_user?.members ?? 100;
  const num = (v) => typeof v === "number" && Number.isFinite(v);
  const row = (figure, unit, product, floor, target, met, measured = "") =>
    out.push({
      figure,
      product: num(product) ? `${fmt(product, 2)}${unit}` : (product ?? "–"),
      floor: num(floor) ? `${fmt(floor, 2)}${unit}` : (floor ?? "–"),
      ratio: num(product) && num(floor) && floor > 0 ? `${fmt(ratio(product, floor), 2)}×` : "–",
      target,
      verdict: met === null ? "n/a" : met ? "met" : "missed",
      measured,
    });
  const p99s = (side) => side?.runs?.map((r) => r.send_to_recipient_ms?.p99).filter(num) ?? [];
  const spread = (v) => (v.length ? Math.max(...v) - Math.min(...v) : null);
  for (const key of ["dm", "dm_fast"]) {
    const dm = s[key];
    if (!dm) continue;
    const p = dm.product?.median?.send_to_recipient_ms;
    const f = dm.floor?.median?.send_to_recipient_ms;
    const slack = key === "dm" ? 3 : 10;
    row(
      `1:1 send→recipient at ${dm.rate} msg/s (${dm.pairs} pairs), markers as real clients send them, p99`,
      " ms",
      p?.p99,
      f?.p99,
      `≤ floor + ${slack} ms`,
      num(p?.p99) && num(f?.p99) ? p.p99 <= f.p99 + slack : null,
      `${signed(p?.p99 - f?.p99)} ms`,
    );
    const sp = spread(p99s(dm.product));
    const sf = spread(p99s(dm.floor));
    row(
      `1:1 at ${dm.rate} msg/s: spread of the runs' p99 (max − min)`,
      " ms",
      sp,
      sf,
      "≤ 2 × the floor's spread",
      num(sp) && num(sf) ? sp <= 2 * sf : null,
      `product runs ${p99s(dm.product).join(", ")}; floor runs ${p99s(dm.floor).join(", ")}`,
    );
    if (key === "dm") {
      const a = dm.product?.median?.send_to_ack_ms;
      const fa = dm.floor?.median?.send_to_ack_ms;
      row(
        `1:1 send→ack at ${dm.rate} msg/s, p99`,
        " ms",
        a?.p99,
        fa?.p99,
        "≤ 5 ms",
        num(a?.p99) ? a.p99 <= 5 : null,
      );
    }
  }
  if (s.dm_plain) {
    const p = s.dm_plain.product?.median?.send_to_recipient_ms;
    const f = s.dm_plain.floor?.median?.send_to_recipient_ms;
    row(
      `1:1 send→recipient at ${s.dm_plain.rate} msg/s, no markers (the earlier client), p50`,
      " ms",
      p?.p50,
      f?.p50,
      "≤ floor + 2 ms",
      num(p?.p50) && num(f?.p50) ? p.p50 <= f.p50 + 2 : null,
      `${signed(p?.p50 - f?.p50)} ms`,
    );
    row(
      `1:1 send→recipient at ${s.dm_plain.rate} msg/s, no markers (the earlier client), p99`,
      " ms",
      p?.p99,
      f?.p99,
      "≤ floor + 3 ms",
      num(p?.p99) && num(f?.p99) ? p.p99 <= f.p99 + 3 : null,
      `${signed(p?.p99 - f?.p99)} ms`,
    );
  }
  if (s.group_viewing) {
    const p = s.group_viewing.product?.median?.fanout_to_last_ms;
    const f = s.group_viewing.floor?.median?.fanout_to_last_ms;
    for (const [pc, k] of [
      ["p50", 1.2],
      ["p99", 1.5],
    ])
      row(
        `${gm}-member fan-out to the last member, conversation open, markers as real clients send them, ${pc}`,
        " ms",
        p?.[pc],
        f?.[pc],
        `≤ ${k} × floor`,
        num(p?.[pc]) && num(f?.[pc]) ? p[pc] <= k * f[pc] : null,
      );
  }
  if (s.group_viewing_plain) {
    const p = s.group_viewing_plain.product?.median?.fanout_to_last_ms;
    const f = s.group_viewing_plain.floor?.median?.fanout_to_last_ms;
    row(
      `${gm}-member fan-out to the last member, conversation open, no markers (the earlier client), p99`,
      " ms",
      p?.p99,
      f?.p99,
      "≤ 1.2 × floor",
      num(p?.p99) && num(f?.p99) ? p.p99 <= 1.2 * f.p99 : null,
    );
  }
  if (s.group_user) {
    const p = s.group_user.product?.median?.fanout_to_last_ms;
    const f = s.group_user.floor?.median?.fanout_to_last_ms;
    const lost = s.group_user.product?.runs?.reduce((n, r) => n + r.lost, 0);
    row(
      `${gm}-member fan-out to the last member, user sockets only, ${s.group_user.rate} msg/s, p99`,
      " ms",
      p?.p99,
      f?.p99,
      "≤ 250 ms, nothing lost",
      num(p?.p99) ? p.p99 <= 250 && lost === 0 : null,
      `lost ${lost}`,
    );
  }
  for (const [key, label, k] of [
    ["saturate_plain", "no markers", 1],
    ["saturate", "markers as real clients send them", 0.8],
  ]) {
    const scn = s[key];
    if (!scn) continue;
    const p = scn.product?.median?.sustained_deliveries_per_s;
    const f = scn.floor?.median?.sustained_deliveries_per_s;
    const bound = scn.floor?.runs?.some((r) => r.generator_bound);
    row(
      `saturation: deliveries/s sustained in one ${scn.members}-member channel, ${label}`,
      "",
      p,
      f,
      `≥ ${k} × floor`,
      num(p) && num(f) && f > 0 ? p >= k * f : null,
      bound ? "the floor's climb was stopped by the generator" : "",
    );
  }
  if (s.resume) {
    const m = s.resume.product?.median;
    const ok = s.resume.product?.runs?.every((r) => r.exactly_once_in_order);
    row(
      `resume of ${fmt(m?.messages_missed, 0)} missed messages`,
      " ms",
      m?.resume_to_resumed_ms,
      "none",
      "≤ 2 s, exactly once, in order",
      num(m?.resume_to_resumed_ms) ? m.resume_to_resumed_ms <= 2000 && ok : null,
      `exactly once, in order: ${ok ? "yes" : "NO"}`,
    );
  }
  const a = s.archive;
  if (a) {
    const hot = a.resume?.sqlite?.median?.resume_to_resumed_ms;
    const cold = a.resume?.r2_cold?.median?.resume_to_resumed_ms;
    row(
      `resume of ${fmt(a.messages, 0)} missed messages all in R2 (cold), against all in SQLite`,
      " ms",
      cold,
      "none",
      "≤ 2 × the SQLite resume, exactly once, in order",
      num(cold) && num(hot) ? cold <= 2 * hot && a.resume.exactly_once_in_order : null,
      `SQLite ${fmt(hot, 1)} ms, ${fmt(a.resume?.cold_over_sqlite, 2)}×; exactly once, in order: ${a.resume?.exactly_once_in_order ? "yes" : "NO"}`,
    );
    const d = a.dm_while_sealing;
    const base = d?.baseline?.median?.send_to_recipient_ms?.p99;
    const sealing = d?.sealing?.median?.send_to_recipient_ms?.p99;
    row(
      `1:1 send→recipient at ${a.dmRate} msg/s while the channel seals, p99`,
      " ms",
      sealing,
      "none",
      "≤ the p99 with nothing sealing + the spread of its runs",
      num(sealing) && num(base) ? sealing <= base + d.baseline_p99_spread_ms : null,
      `nothing sealing ${fmt(base, 2)} ms (runs ${d?.baseline?.runs?.map((r) => r.send_to_recipient_ms.p99).join(", ")}); sealing runs ${d?.sealing?.runs?.map((r) => r.send_to_recipient_ms.p99).join(", ")}`,
    );
    const us = a.chain?.per_message_us?.["100 chars"]?.nativeUs;
    row(
      "the chain's cost on the 1:1 path (per 100-character message, workerd)",
      " µs",
      us,
      "none",
      "≤ 100 µs (+0.1 ms p50)",
      num(us) ? us <= 100 : null,
      a.chain ? `${fmt(a.chain.per_message_us?.["100000 chars"]?.nativeUs, 0)} µs at 100,000 characters` : "",
    );
    row(
      "bytes per message in R2, against SQLite",
      " B",
      a.bytes_per_message?.r2,
      "none",
      "reported",
      null,
      `SQLite ${fmt(a.bytes_per_message?.sqlite, 0)} B; pages checked: ${a.wrong_pages === 0 ? "all right" : `${a.wrong_pages} WRONG`}`,
    );
  }
  if (s.idle) {
    const p = s.idle.product?.median;
    const f = s.idle.floor?.median;
    const short =
      p?.devices < p?.devices_asked
        ? ` of ${fmt(p?.devices_asked, 0)} asked: the connect budget ran out`
        : "";
    row(
      `memory per idle connected device (${fmt(p?.devices, 0)} devices${short})`,
      " KiB",
      p?.memory_per_device_kb,
      f?.memory_per_device_kb,
      "≤ 2 × floor",
      num(p?.memory_per_device_kb) && num(f?.memory_per_device_kb)
        ? p.memory_per_device_kb <= 2 * f.memory_per_device_kb
        : null,
    );
    row(
      "wake-ups caused by heartbeats",
      "",
      p?.heartbeat_wakeups,
      f?.heartbeat_wakeups,
      "0",
      num(p?.heartbeat_wakeups) && p.heartbeats_sent > 0 ? p.heartbeat_wakeups === 0 : null,
      `${fmt(p?.heartbeats_sent, 0)} heartbeats`,
    );
  }
  const flood = s.flood?.product?.runs?.[0];
  if (flood) {
    const without = flood.phases.find((p) => p.phase === "quiet")?.quiet.send_to_recipient_ms;
    for (const p of flood.phases.filter((x) => x.flooder)) {
      const f = p.flooder;
      row(
        `quiet 1:1 pair (${s.flood.quietRate} msg/s) during a ${p.phase === "socket" ? "channel-socket" : "REST"} flood, send→recipient p99 (floor column: without the flood)`,
        " ms",
        p.quiet.send_to_recipient_ms.p99,
        without?.p99,
        "≤ 2 × without the flood",
        num(p.quiet_p99_vs_quiet) ? p.quiet_p99_vs_quiet <= 2 : null,
        `flooder: ${fmt(f.accepted_per_s)}/s stored of ${fmt(f.sent_per_s)}/s sent, ${fmt(f.not_stored, 0)} not stored, ${fmt(f.cpu_us_per_refusal, 0)} µs server CPU per frame or request not stored`,
      );
    }
    const c = s.flood.cost;
    if (c?.current) {
      const a = c.current.median?.send_to_ack_ms?.p50;
      const b = c.baseline_runs.median?.send_to_ack_ms?.p50;
      row(
        `the limiter's cost on the 1:1 path at ${c.rate} msg/s (${c.pairs} pairs), send→ack p50 (floor column: commit ${c.baseline}, before flood control)`,
        " ms",
        a,
        b,
        "≤ + 0.1 ms",
        num(c.ack_p50_delta_ms) ? c.ack_p50_delta_ms <= 0.1 : null,
        `send→ack p50 ${signed(c.ack_p50_delta_ms)} ms, send→recipient p50 ${signed(c.recipient_p50_delta_ms)} ms, p99 ${signed(c.recipient_p99_delta_ms)} ms`,
      );
    }
  }
  row(
    "lost / duplicated, every scenario and run",
    "",
    `${totals.lost} / ${totals.duplicates}`,
    `${totals.floor_lost} / ${totals.floor_duplicates}`,
    "0 / 0",
    totals.lost === 0 && totals.duplicates === 0 && totals.floor_lost === 0 && totals.floor_duplicates === 0,
    `unacknowledged ${totals.unacked}, error frames ${totals.error_frames}`,
  );
  return out;
}

export function markdown(r) {
  const lines = [];
  lines.push(`# edge chat benchmark, ${r.mode} run, ${r.at}`);
  lines.push("");
  lines.push(
    `\`${r.command}\` — ${fmt(r.duration_s, 0)} s. ${r.machine.cpus} × ${r.machine.model}, ${r.machine.mem_gb} GB; node ${r.versions.node}, wrangler ${r.versions.wrangler}, workerd ${r.versions.workerd}; commit ${r.git.commit}${r.git.dirty ? " (with uncommitted changes)" : ""}.`,
  );
  lines.push(
    `${r.settings.path}. Storage: ${r.settings.storage}; local observability: ${r.settings.local_observability}. Each figure is the median over the runs counted in its last column (product / floor); product and floor runs were interleaved.`,
  );
  lines.push("");
  lines.push("| figure | product | floor | product / floor | runs |");
  lines.push("| --- | ---: | ---: | ---: | ---: |");
  for (const h of r.headline) {
    const u = h.unit ? ` ${h.unit}` : "";
    lines.push(
      `| ${h.figure}${h.note ? ` (${h.note})` : ""} | ${fmt(h.product, 2)}${h.product === null || h.product === undefined ? "" : u} | ${fmt(h.floor, 2)}${h.floor === null || h.floor === undefined ? "" : u} | ${h.ratio === null ? "–" : `${fmt(h.ratio, 2)}×`} | ${h.runs.join(" / ")} |`,
    );
  }
  lines.push("");
  if (r.mode === "quick")
    lines.push(
      "A quick run uses small counts and rates: the verdicts below say nothing about the targets, which are for the full run.",
      "",
    );
  lines.push("| figure | product | floor | product / floor | target | verdict |");
  lines.push("| --- | ---: | ---: | ---: | --- | --- |");
  for (const t of r.targets)
    lines.push(
      `| ${t.figure} | ${t.product} | ${t.floor} | ${t.ratio} | ${t.target} | **${t.verdict}**${t.measured ? ` (${t.measured})` : ""} |`,
    );
  lines.push("");
  const flood = r.scenarios.flood?.product?.runs?.[0];
  if (flood) {
    lines.push(
      `Flood (wrangler.toml's limits): a quiet 1:1 pair sends ${r.scenarios.flood.quietRate} msg/s for ${r.scenarios.flood.phaseSeconds} s in each phase; in \`socket\` one user floods its channel socket as fast as the generator can (reconnecting at once when closed), in \`rest\` it posts from ${r.scenarios.flood.restClients} concurrent loops. CPU per frame or request not stored: the phase's server CPU less the quiet phase's, over everything the flooder sent that was not stored (refused; read and dropped after its socket's close; refused reconnects).`,
    );
    lines.push("");
    lines.push(
      "| phase | quiet p50 ms | quiet p99 ms | quiet max ms | p99 / quiet | flooder sent/s | stored/s | refused (error frames or 429) | not stored | closes | reconnects refused | server CPU % | µs CPU / not stored |",
    );
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
    for (const p of flood.phases) {
      const q = p.quiet.send_to_recipient_ms;
      const f = p.flooder;
      const closes = f?.closes
        ? Object.entries(f.closes)
            .map(([code, n]) => `${code}×${n}`)
            .join(" ") || "0"
        : "–";
      lines.push(
        `| ${p.phase} | ${fmt(q.p50)} | ${fmt(q.p99)} | ${fmt(q.max)} | ${fmt(p.quiet_p99_vs_quiet, 2)} | ${fmt(f?.sent_per_s)} | ${fmt(f?.accepted_per_s)} | ${fmt(f?.refused, 0)} | ${fmt(f?.not_stored, 0)} | ${closes} | ${fmt(f?.connect_refused, 0)} | ${p.server_cpu_pct} | ${fmt(f?.cpu_us_per_refusal, 0)} |`,
      );
    }
    lines.push("");
    if (flood.cheapest_request)
      lines.push(
        `For scale: the cheapest request the runtime serves (a 404, no auth, no storage) cost ${fmt(flood.cheapest_request.cpu_us_per_request, 0)} µs of server CPU here.`,
        "",
      );
    const c = r.scenarios.flood.cost;
    if (c?.skipped)
      lines.push(`The limiter's cost against the commit before it: not measured (${c.skipped}).`, "");
  }
  const counts = r.scenarios.counts;
  if (counts?.units) {
    lines.push(
      "Platform operations per unit (the counts scenario, from the runtime's own traces; `npm run capacity` reads them). DO requests: fetches + RPCs + WebSocket messages + alarms, each counted once.",
    );
    lines.push("");
    lines.push(
      "| unit | Worker requests | DO requests | RPCs | WebSocket msgs | alarms | DO rows read | DO rows written | D1 queries | D1 rows read | D1 rows written | queue sends | R2 A / B | CPU ms |",
    );
    lines.push(
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const [unit, c] of Object.entries(counts.units))
      lines.push(
        `| ${unit} | ${fmt(c.worker_requests, 2)} | ${fmt(c.do_requests, 2)} | ${fmt(c.do_rpc_calls, 2)} | ${fmt(c.do_websocket_messages, 2)} | ${fmt(c.do_alarms, 2)} | ${fmt(c.do_rows_read, 2)} | ${fmt(c.do_rows_written, 2)} | ${fmt(c.d1_queries, 2)} | ${fmt(c.d1_rows_read, 2)} | ${fmt(c.d1_rows_written, 2)} | ${fmt(c.queue_sends, 2)} | ${fmt(c.r2_class_a, 2)} / ${fmt(c.r2_class_b, 2)} | ${fmt(c.cpu_ms, 2)} |`,
      );
    lines.push("");
  }
  for (const [key, label] of [
    ["saturate", "markers as real clients send them"],
    ["saturate_plain", "no markers"],
  ]) {
    const sat = r.scenarios[key];
    if (!sat) continue;
    for (const side of key === "saturate" ? ["product", "floor"] : ["product"]) {
      for (const [k, run] of (sat[side]?.runs ?? []).entries()) {
        lines.push(
          `Saturation, ${side}${side === "product" ? `, ${label}` : ""}, run ${k + 1}: stopped by ${run.stopped_by}.`,
        );
        lines.push("");
        lines.push(
          "| msg/s | sent/s | p50 ms | p99 ms | missing after 1.5 s | deliveries/s | server CPU % | server µs / delivery | frames / read | generator CPU % | others CPU % |",
        );
        lines.push("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (const st of run.steps)
          lines.push(
            `| ${st.rate}${st.probe ? " (probe)" : ""} | ${st.sent_per_s} | ${fmt(st.fanout_to_last_ms?.p50)} | ${fmt(st.fanout_to_last_ms?.p99)} | ${st.missing_after_ms ?? "–"} | ${fmt(st.deliveries_per_s)} | ${st.server_cpu_pct} | ${st.server_us_per_delivery ?? "–"} | ${st.frames_per_read ?? "–"} | ${st.generator_cpu_pct} | ${st.others_cpu_pct} |`,
          );
        lines.push("");
      }
    }
  }
  lines.push(
    `CPU during the measured runs, % of one core (${r.machine.cpus} cores): the generator (this Node process), the server (the runtime's workerd), every other process on the machine (noise from outside the benchmark), and steal (CPU time the hypervisor gave to other guests of this shared host). Load average at the start ${r.machine.loadavg_start.join(", ")}, at the end ${r.machine.loadavg_end.join(", ")}.`,
  );
  lines.push("");
  lines.push("| run | generator | server | other processes | steal |");
  lines.push("| --- | ---: | ---: | ---: | ---: |");
  for (const c of r.cpu)
    lines.push(
      `| ${c.run} | ${c.generator_cpu_pct} | ${c.server_cpu_pct} | ${c.others_cpu_pct} | ${c.steal_pct ?? "–"} |`,
    );
  lines.push("");
  if (r.server_problems.length) {
    lines.push(`Server log lines at warn level or above: ${r.server_problems.length}. First ones:`);
    lines.push("");
    for (const p of r.server_problems.slice(0, 5))
      lines.push(`- ${p.server}: ${p.level}: ${p.message.replaceAll("\n", " ")}`);
  } else {
    lines.push("Server log lines at warn level or above: none.");
  }
  lines.push("");
  return lines.join("\n");
}

/** Bars of p50/p95/p99 per scenario, product beside floor, on a log scale. Hand-written SVG. */
export function chart(r) {
  const s = r.scenarios;
  const groups = [];
  const pick = (scn, key) => ({
    product: scn?.product?.median?.[key],
    floor: scn?.floor?.median?.[key],
  });
  if (s.dm) {
    groups.push({ label: "1:1 send→ack", ...pick(s.dm, "send_to_ack_ms") });
    groups.push({ label: "1:1 send→recipient", ...pick(s.dm, "send_to_recipient_ms") });
  }
  if (s.dm_fast)
    groups.push({ label: `1:1 at ${s.dm_fast.rate} msg/s`, ...pick(s.dm_fast, "send_to_recipient_ms") });
  if (s.group_viewing)
    groups.push({
      label: `${s.group_viewing.members} members, viewing`,
      ...pick(s.group_viewing, "fanout_to_last_ms"),
    });
  if (s.group_user)
    groups.push({
      label: `${s.group_user.members} members, user sockets`,
      ...pick(s.group_user, "fanout_to_last_ms"),
    });
  const ps = ["p50", "p95", "p99"];
  const values = groups
    .flatMap((g) => ps.flatMap((p) => [g.product?.[p], g.floor?.[p]]))
    .filter((v) => v > 0);
  const lo = 0.5;
  const hi = Math.max(10, ...values) * 1.3;
  const W = 180 * Math.max(groups.length, 1) + 90;
  const H = 360;
  const top = 50;
  const bottom = 290;
  const left = 60;
  const y = (v) =>
    bottom -
    ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (bottom - top);
  const colors = { product: ["#9ecae1", "#4292c6", "#08519c"], floor: ["#d9d9d9", "#969696", "#525252"] };
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" role="img" aria-labelledby="chart-title">`,
  );
  out.push(`<title id="chart-title">Latency percentiles, product vs floor (ms, log scale)</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(
    `<text x="${left}" y="20" font-size="14" font-weight="bold">Latency percentiles, product vs floor (ms, log scale)</text>`,
  );
  out.push(
    `<text x="${left}" y="36" fill="#555">${r.mode} run ${r.at.slice(0, 16)}Z, ${r.machine.cpus} cores; medians of ${r.settings.reps} runs each</text>`,
  );
  for (let e = Math.ceil(Math.log10(lo)); 10 ** e <= hi; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v < lo || v > hi) continue;
      const yy = y(v).toFixed(1);
      out.push(
        `<line x1="${left}" x2="${W - 20}" y1="${yy}" y2="${yy}" stroke="${m === 1 ? "#ccc" : "#eee"}"/>`,
      );
      out.push(
        `<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#555">${v >= 1 ? v : v.toFixed(1)}</text>`,
      );
    }
  }
  groups.forEach((g, gi) => {
    const x0 = left + 20 + gi * 180;
    ["product", "floor"].forEach((side, si) => {
      ps.forEach((p, pi) => {
        const v = g[side]?.[p];
        if (!(v > 0)) return;
        const x = x0 + si * 78 + pi * 24;
        const yy = y(v);
        out.push(
          `<rect x="${x}" y="${yy.toFixed(1)}" width="20" height="${(bottom - yy).toFixed(1)}" fill="${colors[side][pi]}"><title>${side} ${p}: ${v} ms</title></rect>`,
        );
        out.push(
          `<text x="${x + 10}" y="${(yy - 3).toFixed(1)}" text-anchor="middle" font-size="9">${fmt(v)}</text>`,
        );
      });
      out.push(
        `<text x="${x0 + si * 78 + 34}" y="${bottom + 14}" text-anchor="middle" fill="#333">${side}</text>`,
      );
    });
    out.push(
      `<text x="${x0 + 72}" y="${bottom + 32}" text-anchor="middle" font-weight="bold">${g.label}</text>`,
    );
  });
  const lx = left;
  const ly = H - 18;
  ps.forEach((p, i) => {
    out.push(`<rect x="${lx + i * 150}" y="${ly - 9}" width="10" height="10" fill="${colors.product[i]}"/>`);
    out.push(
      `<rect x="${lx + i * 150 + 12}" y="${ly - 9}" width="10" height="10" fill="${colors.floor[i]}"/>`,
    );
    out.push(`<text x="${lx + i * 150 + 26}" y="${ly}">${p} (product, floor)</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
