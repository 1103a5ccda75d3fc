/**
 * @module web/main
 * Entry point of the web client (bundled to web/dist/app.js by scripts/build-web.mjs). It makes
 * one ChatClient for this browser, restores the session the SDK keeps in IndexedDB (never in
 * the URL), and shows either the login screen or the app. A notification click arrives as
 * `?channel=<id>` (new window) or as a message from the service worker (open window).
 */
import { ChatClient } from "../../client/src/index.ts";
import { App, channelFromHash } from "./app.ts";
import { authView } from "./auth-view.ts";
import { registerServiceWorker } from "./push.ts";

function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
      ? "Firefox"
      : /Chrom(e|ium)\//.test(ua)
        ? "Chrome"
        : /Safari\//.test(ua)
          ? "Safari"
          : "Browser";
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
      ? "iOS"
      : /Mac OS X/.test(ua)
        ? "macOS"
        : /Windows/.test(ua)
          ? "Windows"
          : /Linux/.test(ua)
            ? "Linux"
            : "unknown OS";
  return `${browser} on ${os}`;
}

const root = document.getElementById("app");
if (!root) throw new Error("#app is missing from index.html");

// A notification opened a new window: /?channel=<id> becomes the conversation route.
const fromPush = new URLSearchParams(location.search).get("channel");
if (fromPush && /^[A-Za-z0-9_]+$/.test(fromPush)) history.replaceState(null, "", `/#/c/${fromPush}`);

const chat = new ChatClient({ baseUrl: location.origin, device: { name: deviceName(), platform: "web" } });
let app: App | null = null;

function showAuth(): void {
  app?.destroy();
  app = null;
  document.title = "edge chat";
  root?.replaceChildren(authView(chat, showApp));
  root?.querySelector<HTMLInputElement>("input")?.focus();
}

function showApp(): void {
  app?.destroy();
  app = new App(chat, showAuth);
  root?.replaceChildren(app.el);
  app.start();
}

navigator.serviceWorker?.addEventListener("message", (e: MessageEvent) => {
  const data = e.data as { type?: string; channel_id?: string } | null;
  if (data?.type === "open-channel" && typeof data.channel_id === "string" && app) {
    if (channelFromHash() !== data.channel_id) app.open(data.channel_id);
  }
});

void registerServiceWorker();
chat
  .restore()
  .then((signedIn) => (signedIn ? showApp() : showAuth()))
  .catch(() => showAuth());
