// edge chat service worker: Web Push notifications only (no offline caching, so a deploy is
// never hidden behind a stale cache). The payload is PushPayload (docs/protocol.md §8.9): it
// holds ids and a preview, never a name, so the title comes from the names the app last cached
// under META_URL (users and conversations it has shown), or a generic "New message".
const META_CACHE = "edge-chat-meta";
const META_URL = "/__edge-chat/names.json";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function names() {
  try {
    const res = await (await caches.open(META_CACHE)).match(META_URL);
    return res ? await res.json() : {};
  } catch {
    return {};
  }
}

async function notify(p) {
  const { users = {}, channels = {} } = await names();
  const sender = users[p.sender_id];
  const channel = channels[p.channel_id];
  let title = "New message";
  if (sender && channel && p.channel_id.startsWith("gr_")) title = `${sender} in ${channel}`;
  else if (sender) title = sender;
  else if (channel) title = channel;
  await self.registration.showNotification(title, {
    body: typeof p.preview === "string" ? p.preview : "New message",
    tag: p.channel_id, // one notification per conversation: a newer one replaces it
    renotify: true,
    icon: "/icon.svg",
    badge: "/icon.svg",
    data: { channel_id: p.channel_id, seq: p.seq },
  });
}

self.addEventListener("push", (event) => {
  let p = null;
  try {
    p = event.data?.json() ?? null;
  } catch {
    p = null;
  }
  // A subscription made with userVisibleOnly must show something for every push.
  const ok = p && p.type === "message" && typeof p.channel_id === "string";
  const shown = ok
    ? notify(p)
    : self.registration.showNotification("edge chat", { body: "You have new messages", icon: "/icon.svg" });
  const badge =
    ok && typeof p.badge === "number" && navigator.setAppBadge ? navigator.setAppBadge(p.badge) : null;
  event.waitUntil(Promise.all([shown, badge?.catch(() => {})]));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const channelId = event.notification.data?.channel_id;
  const target = channelId ? `/?channel=${encodeURIComponent(channelId)}` : "/";
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (open) {
        await open.focus();
        if (channelId) open.postMessage({ type: "open-channel", channel_id: channelId });
        return;
      }
      await self.clients.openWindow(target);
    })(),
  );
});
