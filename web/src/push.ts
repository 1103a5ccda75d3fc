/**
 * @module web/push
 * Web Push for this device (docs/protocol.md §8.9): ask permission, subscribe with the server's
 * VAPID public key, hand the subscription to the server; and the reverse. The service worker
 * (web/static/sw.js) shows the notifications. Every step can fail (no support, permission
 * denied, no push service, as in headless browsers); each failure comes back as a message
 * for the settings panel, never as an exception.
 */
import type { ChatClient } from "../../client/src/index.ts";
import { errorText } from "./errors.ts";

export type PushState =
  | { on: true; text: string }
  | { on: false; text: string; unsupported?: boolean; error?: boolean };

export function pushSupported(): boolean {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

/** Registers the service worker (at boot); resolves to null where there is none. */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch {
    return null;
  }
}

async function registration(): Promise<ServiceWorkerRegistration> {
  const reg = (await navigator.serviceWorker.getRegistration("/")) ?? (await registerServiceWorker());
  if (!reg) throw new Error("The service worker could not be registered.");
  return reg;
}

/** base64url → bytes, for `applicationServerKey`. */
export function base64UrlToBytes(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(s.length / 4) * 4, "=");
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function currentPushState(): Promise<PushState> {
  if (!pushSupported())
    return { on: false, unsupported: true, text: "This browser can't show notifications." };
  if (Notification.permission === "denied") {
    return { on: false, text: "Notifications are blocked for this site in the browser settings." };
  }
  try {
    const reg = await navigator.serviceWorker.getRegistration("/");
    const sub = await reg?.pushManager.getSubscription();
    if (sub) return { on: true, text: "On: this device is notified while the app is closed." };
  } catch {
    // fall through: treat as off
  }
  return { on: false, text: "Off." };
}

export async function enablePush(chat: ChatClient): Promise<PushState> {
  if (!pushSupported())
    return { on: false, unsupported: true, text: "This browser can't show notifications." };
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      return { on: false, error: true, text: "Permission was not granted, so notifications stay off." };
    }
    const reg = await registration();
    const key = await chat.pushPublicKey();
    const applicationServerKey = base64UrlToBytes(key);
    let sub = await reg.pushManager.getSubscription();
    // A subscription made for another server key cannot be reused.
    const oldKey = sub?.options.applicationServerKey;
    if (sub && oldKey && !sameBytes(new Uint8Array(oldKey), applicationServerKey)) {
      await sub.unsubscribe();
      sub = null;
    }
    sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
    await chat.subscribePush(sub.toJSON());
    return { on: true, text: "On: this device is notified while the app is closed." };
  } catch (err) {
    return { on: false, error: true, text: `Couldn't turn notifications on: ${errorText(err)}` };
  }
}

export async function disablePush(chat: ChatClient): Promise<PushState> {
  try {
    const reg = await navigator.serviceWorker.getRegistration("/");
    const sub = await reg?.pushManager.getSubscription();
    await chat.unsubscribePush(sub?.endpoint);
    await sub?.unsubscribe();
    return { on: false, text: "Off." };
  } catch (err) {
    return { on: false, error: true, text: `Couldn't turn notifications off: ${errorText(err)}` };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
