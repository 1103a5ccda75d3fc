import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { ChatError } from "../protocol/errors.ts";
import { newGroupId, newId } from "../protocol/ids.ts";
import { thrown } from "../test/fixtures/thrown.ts";
import {
  ACCESS_TTL_S,
  issueAccessToken,
  issueTicket,
  newRefreshSecret,
  parseRefreshToken,
  TICKET_TTL_S,
  verifyAccessToken,
  verifyTicket,
} from "./tokens.ts";

const SECRET = "unit-test-secret-0123456789abcdef";
const OTHER_SECRET = "another-secret-0123456789abcdef";
const USER = newId();
const DEVICE = newId();
const CHANNEL = newGroupId();

async function rejected(promise: Promise<unknown>): Promise<ChatError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ChatError) return err;
    throw err;
  }
  throw new Error("expected a ChatError, the promise resolved");
}

const nowS = (): number => Math.floor(Date.now() / 1000);

describe("access tokens", () => {
  it("round-trip: a fresh token verifies to its user, device and a 15-minute lifetime", async () => {
    const token = await issueAccessToken(SECRET, USER, DEVICE);
    const claims = await verifyAccessToken(SECRET, token);
    expect(claims).toMatchObject({ typ: "access", sub: USER, did: DEVICE });
    expect(claims.exp - claims.iat).toBe(ACCESS_TTL_S);
    expect(ACCESS_TTL_S).toBe(900);
  });

  it("refuses a socket ticket with unauthenticated", async () => {
    const { ticket } = await issueTicket(SECRET, USER, DEVICE, "user");
    expect((await rejected(verifyAccessToken(SECRET, ticket))).code).toBe("unauthenticated");
  });

  it("refuses an expired token with token_expired", async () => {
    const iat = nowS() - 2 * ACCESS_TTL_S;
    const token = await sign(
      { typ: "access", sub: USER, did: DEVICE, iat, exp: iat + ACCESS_TTL_S },
      SECRET,
      "HS256",
    );
    expect((await rejected(verifyAccessToken(SECRET, token))).code).toBe("token_expired");
  });

  it("refuses a token signed with another secret with unauthenticated", async () => {
    const token = await issueAccessToken(OTHER_SECRET, USER, DEVICE);
    expect((await rejected(verifyAccessToken(SECRET, token))).code).toBe("unauthenticated");
  });

  it("refuses a string that is not a JWT with unauthenticated", async () => {
    expect((await rejected(verifyAccessToken(SECRET, "not-a-token"))).code).toBe("unauthenticated");
    expect((await rejected(verifyAccessToken(SECRET, "a.b.c"))).code).toBe("unauthenticated");
  });

  it("refuses a signed token with the access typ but no device with unauthenticated", async () => {
    const iat = nowS();
    const token = await sign({ typ: "access", sub: USER, iat, exp: iat + 60 }, SECRET, "HS256");
    expect((await rejected(verifyAccessToken(SECRET, token))).code).toBe("unauthenticated");
  });
});

describe("socket tickets", () => {
  it("round-trip: a fresh ticket verifies to the claims it was issued with", async () => {
    const { ticket, claims } = await issueTicket(SECRET, USER, DEVICE, CHANNEL);
    const verified = await verifyTicket(SECRET, ticket);
    expect(verified).toEqual(claims);
    expect(claims).toMatchObject({ typ: "ticket", sub: USER, did: DEVICE, aud: CHANNEL });
    expect(claims.exp - claims.iat).toBe(TICKET_TTL_S);
  });

  it("gives each ticket its own jti", async () => {
    const a = await issueTicket(SECRET, USER, DEVICE, "user");
    const b = await issueTicket(SECRET, USER, DEVICE, "user");
    expect(a.claims.jti).not.toBe(b.claims.jti);
  });

  it("refuses an access token with ticket_invalid", async () => {
    const token = await issueAccessToken(SECRET, USER, DEVICE);
    expect((await rejected(verifyTicket(SECRET, token))).code).toBe("ticket_invalid");
  });

  it("refuses an expired ticket with ticket_invalid", async () => {
    const iat = nowS() - 120;
    const token = await sign(
      { typ: "ticket", sub: USER, did: DEVICE, aud: "user", jti: "j1", iat, exp: iat + TICKET_TTL_S },
      SECRET,
      "HS256",
    );
    expect((await rejected(verifyTicket(SECRET, token))).code).toBe("ticket_invalid");
  });

  it("refuses a ticket signed with another secret with ticket_invalid", async () => {
    const { ticket } = await issueTicket(OTHER_SECRET, USER, DEVICE, "user");
    expect((await rejected(verifyTicket(SECRET, ticket))).code).toBe("ticket_invalid");
  });
});

describe("refresh tokens", () => {
  it("newRefreshSecret joins the device id and a random secret with a dot, and parseRefreshToken splits them", () => {
    const { token, secret } = newRefreshSecret(DEVICE);
    expect(token).toBe(`${DEVICE}.${secret}`);
    expect(parseRefreshToken(token)).toEqual({ deviceId: DEVICE, secret });
  });

  it("parseRefreshToken splits at the first dot, leaving later dots in the secret", () => {
    expect(parseRefreshToken("dev.sec.ret")).toEqual({ deviceId: "dev", secret: "sec.ret" });
  });

  it("parseRefreshToken refuses a token without a dot with unauthenticated", () => {
    expect(thrown(() => parseRefreshToken("nodothere")).code).toBe("unauthenticated");
  });

  it("parseRefreshToken refuses a token with an empty device id with unauthenticated", () => {
    expect(thrown(() => parseRefreshToken(".secret")).code).toBe("unauthenticated");
  });
});
