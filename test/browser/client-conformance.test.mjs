// The benchmark's client sends what the product's clients send (issue #15). One scripted session
// (two people, a group on both screens, messages both ways, typed key by key, and a burst) runs twice
// against the same real Worker: once through the web client and the SDK in Chromium, once
// through the benchmark's fast socket client with its client model (bench/lib/client-model.mjs).
// Every frame each device sends during the script is counted by socket and type; the two runs
// must send the same kinds of frames at the same rates. If the SDK or the web client start
// sending something new, or more often, the benchmark no longer measures them, and this fails.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DeviceModel } from "../../bench/lib/client-model.mjs";
import { productHandler } from "../../bench/lib/load.mjs";
import { connectProduct, makeApi, socketStats } from "../../bench/lib/sockets.mjs";
import { assertText, befriend, handle, openFromList, PASSWORD, setup, signUp } from "./helpers.mjs";

/** The script: who sends what, when (ms from its start); the session lasts SCRIPT_MS. */
const SCRIPT_MS = 12_000;
const SCRIPT = [
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => ({ at: 300 + k * 1_100, who: "a", text: `from a ${k}` })),
  ...[0, 1, 2, 3, 4].map((k) => ({ at: 900 + k * 2_200, who: "b", text: `from b ${k}` })),
  // A burst: read markers and acknowledgements must fold on both sides.
  ...[0, 1, 2, 3, 4, 5].map((k) => ({ at: 6_000 + k * 250, who: "b", text: `b${k}` })),
].sort((x, y) => x.at - y.at);
/** Keystrokes are this far apart, in both runs. */
const KEY_MS = 15;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `{ "<socket> <type>": count }` of text frames: "ping" or a JSON frame's type. */
function tally() {
  const counts = {};
  return {
    counts,
    add(socket, payload) {
      const type = payload === "ping" ? "ping" : (JSON.parse(payload).type ?? "?");
      const key = `${socket} ${type}`;
      counts[key] = (counts[key] ?? 0) + 1;
    },
  };
}

/** Runs the script: `type(who, text)` before `send(who, text)`, each at its time. */
async function runScript({ type, send }) {
  const t0 = Date.now();
  await Promise.all(
    SCRIPT.map(async (step) => {
      await sleep(step.at - (Date.now() - t0));
      await type(step.who, step.text);
      await send(step.who, step.text);
    }),
  );
  await sleep(SCRIPT_MS - (Date.now() - t0));
}

describe("the benchmark's client sends what the product's clients send", () => {
  let env;
  const product = { a: tally(), b: tally() };
  const generator = { a: tally(), b: tally() };

  before(async () => {
    env = await setup();
  });
  after(() => env?.close());

  test("a scripted session through the web client and the SDK", async () => {
    const pages = { a: await env.newPage(), b: await env.newPage() };
    const handles = { a: handle("conf_a"), b: handle("conf_b") };
    await signUp(pages.a, handles.a, "Ada");
    await signUp(pages.b, handles.b, "Bea");
    await befriend(pages.a, pages.b, handles.a, handles.b);
    await pages.a.getByTestId("new-group").click();
    const dialog = pages.a.getByTestId("group-dialog");
    await dialog.getByTestId("group-name").fill("Script");
    await dialog.locator(`[data-testid="group-member"][data-handle="${handles.b}"]`).check();
    await dialog.getByTestId("group-submit").click();
    await assertText(pages.a.getByTestId("conv-title"), "Script");
    await openFromList(pages.b, "Script");
    // Wait out the connect's own frames (resume, sync) and start counting with the script.
    await sleep(1_500);
    let counting = false;
    for (const who of ["a", "b"]) {
      pages[who].on("websocket", (ws) => {
        const socket = ws.url().includes("/v1/ws/user") ? "user" : "channel";
        ws.on("framesent", ({ payload }) => counting && product[who].add(socket, String(payload)));
      });
    }
    // Sockets opened before the listener: reconnect both so the listener sees them. A reload
    // reopens the user socket and the conversation, as a returning user would.
    for (const who of ["a", "b"]) {
      await pages[who].reload();
      await pages[who].locator('[data-testid="conversation"][data-socket="open"]').waitFor();
    }
    await sleep(1_500);
    counting = true;
    await runScript({
      type: (who, text) =>
        pages[who].getByTestId("composer-input").pressSequentially(text, { delay: KEY_MS }),
      send: (who) => pages[who].getByTestId("composer-input").press("Enter"),
    });
    counting = false;
    assert.deepEqual(env.pageErrors, []);
  });

  test("the same session through the benchmark's client", async () => {
    const api = makeApi(env.url);
    const signup = async (name) => {
      const r = await api("POST", "/v1/auth/signup", {
        body: { handle: handle(name), display_name: name, password: PASSWORD },
      });
      return { id: r.user.id, token: r.access_token };
    };
    const users = { a: await signup("gen_a"), b: await signup("gen_b") };
    await api("POST", "/v1/friends/requests", { token: users.a.token, body: { user_id: users.b.id } });
    await api("POST", `/v1/friends/${users.a.id}/accept`, { token: users.b.token });
    const group = await api("POST", "/v1/groups", {
      token: users.a.token,
      body: { name: "Script", member_ids: [users.b.id] },
    });
    let counting = false;
    const stats = socketStats();
    const devices = {};
    for (const who of ["a", "b"]) {
      const model = new DeviceModel({
        userId: users[who].id,
        channelId: group.channel_id,
        viewing: true,
        typing: true,
      });
      const handler = productHandler({ tracker: null }, { receiver: -1, sender: -1 }, "user", {}, model);
      const open = async (channelId) => {
        const s = await connectProduct(api, { token: users[who].token }, channelId, handler, stats);
        const raw = s.ws.send.bind(s.ws);
        s.ws.send = (text) => {
          if (counting) generator[who].add(channelId ? "channel" : "user", text);
          raw(text);
        };
        return s;
      };
      const user = await open(undefined);
      const channel = await open(group.channel_id);
      model.attach({ user, channel });
      devices[who] = { model, channel, user };
    }
    await sleep(1_500);
    counting = true;
    let n = 0;
    await runScript({
      type: async (who, text) => {
        devices[who].model.beforeSend();
        await sleep(text.length * KEY_MS);
      },
      send: (who, text) => {
        devices[who].channel.send(JSON.stringify({ v: 1, type: "send", client_msg_id: `g${n++}`, text }));
        devices[who].model.afterSend();
      },
    });
    counting = false;
    for (const d of Object.values(devices)) {
      d.model.stop();
      d.user.close();
      d.channel.close();
    }
  });

  test("sends the same kinds of frames at the same rates", (t) => {
    for (const who of ["a", "b"]) {
      const p = product[who].counts;
      const g = generator[who].counts;
      const kinds = [...new Set([...Object.keys(p), ...Object.keys(g)])].sort();
      const report = kinds.map((k) => `${k}: web client ${p[k] ?? 0}, benchmark ${g[k] ?? 0}`).join("; ");
      t.diagnostic(`device ${who}: ${report}`);
      assert.deepEqual(
        Object.keys(g).sort(),
        Object.keys(p).sort(),
        `device ${who}, kinds differ: ${report}`,
      );
      for (const k of kinds) {
        // The same script gives the same counts, up to a timer's phase: one frame either way,
        // or a fifth of a frequent kind.
        const slack = Math.max(1, Math.round(0.2 * Math.max(p[k], g[k])));
        assert.ok(Math.abs(p[k] - g[k]) <= slack, `device ${who}, ${k} differs: ${report}`);
      }
      // The script's messages, each typed first: the counts the script implies.
      const sent = SCRIPT.filter((s) => s.who === who).length;
      assert.equal(p["channel send"], sent, `device ${who}: ${report}`);
    }
  });
});
