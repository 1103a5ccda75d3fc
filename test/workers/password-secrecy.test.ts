// The password and its hash never leave the server: no response carries them, and neither
// the normal paths nor a failing credentials write put them in the logs.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOG_FIELD_NAMES } from "../../observability/log.ts";
import { api, befriend, connect, groupOfTwo, signup, uniqueHandle } from "../fixtures/api.ts";
import { poll } from "../fixtures/poll.ts";
import { expectError } from "./expect-error.ts";

const SECRET_FIELDS = [
  "password",
  "password_hash",
  "passwordHash",
  "hash",
  "salt",
  "iterations",
  "refresh_hash",
  "refreshHash",
];

/** Every key anywhere in a JSON value. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]);
}

async function storedCredentials(userId: string) {
  const row = await env.DB.prepare("SELECT password_hash, salt FROM credentials WHERE user_id = ?")
    .bind(userId)
    .first<{
      password_hash: string;
      salt: string;
    }>();
  if (!row) throw new Error("no credentials row");
  return row;
}

function spyOnConsole() {
  return (["log", "info", "warn", "error", "debug"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation(() => {}),
  );
}

function logged(spies: ReturnType<typeof spyOnConsole>): string {
  return spies
    .flatMap((s) =>
      s.mock.calls.map((args) => args.map((a) => (typeof a === "string" ? a : String(a))).join(" ")),
    )
    .join("\n");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("responses", () => {
  it("no response about a user carries the password, its hash or its salt", async () => {
    const password = "my very private passphrase";
    const user = await signup("secret", password);
    const other = await signup("other");
    await befriend(user, other);
    const { password_hash, salt } = await storedCredentials(user.id);

    const responses = [
      await api("POST", "/v1/auth/signup", {
        body: { handle: uniqueHandle("s"), display_name: "S", password },
      }),
      await api("POST", "/v1/auth/login", { body: { handle: user.handle, password } }),
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: user.refreshToken } }),
      await api("GET", "/v1/users/me", { token: user.token }),
      await api("PATCH", "/v1/users/me", { token: user.token, body: { display_name: "Renamed" } }),
      await api("GET", `/v1/users/by-handle/${user.handle}`, { token: other.token }),
      await api("GET", `/v1/users/${user.id}`, { token: other.token }),
      await api("GET", "/v1/friends", { token: other.token }),
      await api("GET", "/v1/devices", { token: user.token }),
      await api("POST", "/v1/auth/login", { body: { handle: user.handle, password: "wrong password" } }),
    ];
    for (const res of responses) {
      expect(res.status).toBeLessThan(500);
      expect(keysOf(res.body).filter((k) => SECRET_FIELDS.includes(k))).toEqual([]);
      const text = JSON.stringify(res.body);
      for (const secret of [password, password_hash, salt]) expect(text).not.toContain(secret);
    }
  });
});

describe("logs", () => {
  it("sign-up, login and a failed login log neither the password nor its hash", async () => {
    const spies = spyOnConsole();
    const password = "hunter2-but-longer";
    const user = await signup("logged", password);
    await api("POST", "/v1/auth/login", { body: { handle: user.handle, password } });
    await api("POST", "/v1/auth/login", { body: { handle: user.handle, password: `${password}-typo` } });
    await api("POST", "/v1/auth/signup", { body: { handle: user.handle, display_name: "Again", password } });
    const { password_hash, salt } = await storedCredentials(user.id);
    const output = logged(spies);
    for (const secret of [password, password_hash, salt]) expect(output).not.toContain(secret);
  });

  it("a failing password change answers 500 internal and logs no hash, salt or password", async () => {
    const user = await signup("failing");
    // Make D1 refuse to update this one user's credentials, as an outage would.
    const trigger = `fail_credentials_${user.id}`;
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON credentials WHEN OLD.user_id = '${user.id}' BEGIN SELECT RAISE(ABORT, 'simulated outage'); END`,
    ).run();
    const spies = spyOnConsole();
    try {
      const res = await api("POST", "/v1/account/password", {
        token: user.token,
        body: { current_password: user.password, new_password: "the new secret password" },
      });
      expectError(res, "internal");
      const output = logged(spies);
      // The spy does see the Worker's log line (it runs in this isolate)...
      expect(output).toContain("simulated outage");
      // ...and that line names no credential: drizzle appends a failed query's parameters.
      expect(output).not.toMatch(/params:/);
      expect(output).not.toContain("the new secret password");
      expect(output).not.toMatch(/[A-Za-z0-9_-]{43}/); // a base64url SHA-256 (the new hash)
      expect(await storedCredentials(user.id)).toBeDefined();
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
  });

  it("every line a session writes is a JSON event of the documented fields, with no message text, token or password", async () => {
    const spies = spyOnConsole();
    const password = "a passphrase for the log check";
    const { a, b, group } = await groupOfTwo();
    const carol = await signup("carol", password);
    await api("POST", "/v1/auth/login", { body: { handle: carol.handle, password: `${password}!` } });
    const socket = await connect(a, group.channel_id);
    const socketText = "the words of a message sent over a socket";
    socket.send({ v: 1, type: "send", client_msg_id: "log1", text: socketText });
    await socket.until((s) => s.of("ack").length === 1);
    const restText = "the words of a message posted over REST";
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: b.token,
      body: { client_msg_id: "log2", text: restText },
    });
    await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: b.token });
    // A refusal for rate writes a metric too (LIMIT_TYPING_PER_SOCKET: 10/10s).
    for (let i = 0; i < 11; i++) socket.send({ v: 1, type: "typing" });
    await socket.until((s) => s.of("error").length > 0);
    // The members' user objects are updated (fan-out points) before the lines are read.
    await poll("a fan-out point", async () => logged(spies).includes('"metric":"fanout_lag"'));
    socket.close();

    const lines = logged(spies)
      .split("\n")
      .filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(0);
    const fields = new Set<string>(LOG_FIELD_NAMES);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(typeof entry.event, line).toBe("string");
      expect(
        Object.keys(entry).filter((k) => k !== "event" && !fields.has(k)),
        line,
      ).toEqual([]);
    }
    expect(lines.some((l) => l.includes('"metric":"send_ack"'))).toBe(true);
    const output = lines.join("\n");
    const secrets = [password, socketText, restText, a.token, b.token, a.refreshToken, carol.token];
    for (const secret of secrets) expect(output).not.toContain(secret);
  });
});
