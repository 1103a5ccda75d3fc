/**
 * A minimal WebSocket client (RFC 6455) over a plain TCP socket, for load generation. Node's
 * built-in WebSocket (undici) costs tens of microseconds of CPU per received frame on the
 * benchmark machine, as much as the server spends sending it; on 2 shared cores the generator
 * would take the server's CPU. This client does only what the benchmark needs: ws:// on
 * 127.0.0.1, text frames (fragmented or not), ping/pong and close. Received text is decoded
 * once and handed over as a string. Client frames are masked, as the RFC requires, with keys
 * taken from a random pool.
 *
 * The interface is the subset of WebSocket the suite uses: send(text), close(code),
 * readyState, and the events message ({ data }), open, close ({ code }) and error.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { connect } from "node:net";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** TCP reads and text frames received by every RawWebSocket: frames per read shows batching. */
export const readStats = { reads: 0, frames: 0 };

let pool = randomBytes(1 << 16);
let poolAt = 0;
function maskKey() {
  if (poolAt + 4 > pool.length) {
    pool = randomBytes(1 << 16);
    poolAt = 0;
  }
  poolAt += 4;
  return pool.subarray(poolAt - 4, poolAt);
}

function frame(opcode, payload) {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const key = maskKey();
  key.copy(out, head);
  const body = head + 4;
  for (let i = 0; i < len; i++) out[body + i] = payload[i] ^ key[i & 3];
  return out;
}

export class RawWebSocket extends EventEmitter {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSING = CLOSING;
  static CLOSED = CLOSED;

  constructor(url) {
    super();
    const u = new URL(url);
    if (u.protocol !== "ws:") throw new Error(`only ws:// URLs: ${url}`);
    this.readyState = CONNECTING;
    this.buf = Buffer.alloc(0);
    this.fragments = [];
    this.closeCode = 1006;
    this.sock = connect({ host: u.hostname, port: Number(u.port) || 80 });
    this.sock.setNoDelay(true);
    this.sock.on("connect", () => {
      const key = randomBytes(16).toString("base64");
      this.sock.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.sock.on("data", (chunk) => this.#data(chunk));
    this.sock.on("error", (err) => {
      if (this.readyState === CONNECTING) this.emit("error", err);
    });
    this.sock.on("close", () => {
      const was = this.readyState;
      this.readyState = CLOSED;
      if (was !== CLOSED) this.emit("close", { code: this.closeCode });
    });
  }

  /** addEventListener-style subscription, as the suite uses with the built-in WebSocket. */
  addEventListener(type, fn, opts) {
    if (opts?.once) this.once(type, fn);
    else this.on(type, fn);
  }

  removeEventListener(type, fn) {
    this.off(type, fn);
  }

  send(text) {
    if (this.readyState !== OPEN) throw new Error("socket not open");
    this.sock.write(frame(0x1, Buffer.from(text, "utf8")));
  }

  close(code = 1000) {
    if (this.readyState === CLOSED || this.readyState === CLOSING) return;
    if (this.readyState === CONNECTING) {
      this.readyState = CLOSING;
      this.sock.destroy();
      return;
    }
    this.readyState = CLOSING;
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code, 0);
    this.sock.write(frame(0x8, body));
    // The server answers with its close frame and ends the connection; don't wait forever.
    setTimeout(() => this.sock.destroy(), 2000).unref();
  }

  #data(chunk) {
    readStats.reads++;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.readyState === CONNECTING) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buf.toString("latin1", 0, end);
      const status = Number(head.slice(9, 12));
      if (status !== 101) {
        this.emit(
          "error",
          new Error(
            `upgrade refused: ${head.split("\r\n")[0]} ${this.buf.toString("utf8", end + 4, end + 500)}`,
          ),
        );
        this.readyState = CLOSED;
        this.sock.destroy();
        return;
      }
      this.buf = this.buf.subarray(end + 4);
      this.readyState = OPEN;
      this.emit("open");
    }
    let at = 0;
    const b = this.buf;
    while (b.length - at >= 2) {
      const b0 = b[at];
      const b1 = b[at + 1];
      let len = b1 & 0x7f;
      let p = at + 2;
      if (len === 126) {
        if (b.length - at < 4) break;
        len = b.readUInt16BE(at + 2);
        p = at + 4;
      } else if (len === 127) {
        if (b.length - at < 10) break;
        len = Number(b.readBigUInt64BE(at + 2));
        p = at + 10;
      }
      if (b1 & 0x80) p += 4; // a server never masks, but skip a key if one is there
      if (b.length < p + len) break;
      const payload = b.subarray(p, p + len);
      at = p + len;
      this.#frame(b0 & 0x80, b0 & 0x0f, payload);
      if (this.readyState === CLOSED) return;
    }
    this.buf = at === b.length ? Buffer.alloc(0) : b.subarray(at);
  }

  #frame(fin, opcode, payload) {
    if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
      if (!fin || this.fragments.length) {
        this.fragments.push(Buffer.from(payload));
        if (!fin) return;
        payload = Buffer.concat(this.fragments);
        this.fragments = [];
      }
      readStats.frames++;
      this.emit("message", { data: payload.toString("utf8") });
    } else if (opcode === 0x8) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (this.readyState === OPEN) {
        this.readyState = CLOSING;
        const body = Buffer.alloc(2);
        body.writeUInt16BE(this.closeCode === 1005 ? 1000 : this.closeCode, 0);
        this.sock.write(frame(0x8, body));
      }
      this.sock.end();
    } else if (opcode === 0x9) {
      this.sock.write(frame(0xa, Buffer.from(payload)));
    }
  }
}
