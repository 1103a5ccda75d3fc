/**
 * The floor (bench/README.md): GET /ws/<room> upgrades to a socket held by the room's
 * Durable Object; each text frame goes to every socket of the room as it is. `ping` is
 * answered by the runtime (setWebSocketAutoResponse), as in the product. GET /stats reads
 * this isolate's wake-up counters, as UserInbox.wakeups() does for the product.
 */
import { DurableObject } from "cloudflare:workers";

const wakeups = { constructions: 0, socketMessages: 0 };

export class FloorRoom extends DurableObject {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    wakeups.constructions++;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.send('{"type":"hello"}');
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(_ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    wakeups.socketMessages++;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // A socket closing meanwhile: nothing to deliver to.
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 ? 1000 : code, "bye");
    } catch {
      // Already closed.
    }
  }
}

interface Env {
  ROOM: DurableObjectNamespace<FloorRoom>;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/stats") return Response.json(wakeups);
    const room = /^\/ws\/([\w.-]{1,64})$/.exec(pathname)?.[1];
    if (!room || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("not found", { status: 404 });
    }
    return env.ROOM.getByName(room).fetch(request);
  },
} satisfies ExportedHandler<Env>;
