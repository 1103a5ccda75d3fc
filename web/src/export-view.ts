/**
 * @module web/export-view
 * Settings → "Download my data" (docs/protocol.md §8.12): the export is fetched with the
 * session's token and read as it streams, its progress worked out from the archive's own
 * entries (client/export-reader.ts), then saved as one file. The bytes are folded into a Blob a
 * few MB at a time as they arrive; the browser keeps a large Blob on disk, not in the page's
 * memory.
 */
import { type ChatClient, ExportProgress } from "../../client/src/index.ts";
import { fileSize } from "./attachments.ts";
import { h } from "./dom.ts";
import { errorText } from "./errors.ts";

/** Bytes of the download gathered before they are folded into the Blob. */
const FOLD_BYTES = 8 * 1024 * 1024;

export function exportSection(chat: ChatClient): HTMLElement {
  const bar = h("progress", { max: 1, value: 0, hidden: true, testid: "export-progress" });
  const status = h("p", { class: "status-text", role: "status", testid: "export-status" });
  let running: AbortController | null = null;
  const cancel = h(
    "button",
    {
      type: "button",
      class: "plain-link",
      hidden: true,
      testid: "export-cancel",
      on: { click: () => running?.abort() },
    },
    "Cancel",
  );
  const start = async (scope: "mine" | "all") => {
    if (running) return;
    running = new AbortController();
    for (const b of buttons) b.disabled = true;
    bar.hidden = false;
    cancel.hidden = false;
    bar.value = 0;
    status.dataset.state = "busy";
    status.textContent = "Preparing your data…";
    try {
      const res = await chat.exportData(scope, running.signal);
      const name =
        /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "edge-chat.zip";
      const progress = new ExportProgress((fraction) => {
        bar.value = fraction;
      });
      // Chunks are folded into a Blob every few MB: the browser keeps a large Blob on disk, so
      // the page holds at most one fold's worth of the archive at a time.
      let saved = new Blob([]);
      let parts: BlobPart[] = [];
      let pending = 0;
      let bytes = 0;
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        pending += value.byteLength;
        if (pending >= FOLD_BYTES) {
          saved = new Blob([saved, ...parts]);
          parts = [];
          pending = 0;
        }
        bytes += value.byteLength;
        progress.reader.push(value);
        status.textContent = `Downloading… ${Math.round(progress.fraction * 100)} % (${fileSize(bytes)})`;
      }
      if (!progress.reader.done) throw new Error("the download was cut short; try again");
      const url = URL.createObjectURL(new Blob([saved, ...parts], { type: "application/zip" }));
      const link = h("a", { href: url, download: name, testid: "export-link" }, name);
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      bar.value = 1;
      status.dataset.state = "on";
      status.replaceChildren(`Saved ${name} (${fileSize(bytes)}).`);
    } catch (err) {
      status.dataset.state = "error";
      status.textContent = running?.signal.aborted ? "Cancelled." : errorText(err);
    } finally {
      running = null;
      for (const b of buttons) b.disabled = false;
      cancel.hidden = true;
    }
  };
  const buttons = [
    h(
      "button",
      { type: "button", testid: "export-mine", on: { click: () => void start("mine") } },
      "My profile and messages",
    ),
    h(
      "button",
      { type: "button", testid: "export-all", on: { click: () => void start("all") } },
      "Everything in my conversations, with photos and files",
    ),
  ];
  return h(
    "section",
    { class: "section export" },
    h("h2", {}, "Download my data"),
    h(
      "p",
      {},
      "A ZIP file with your profile, devices, friends and conversations, and every message you sent, or every message of your conversations with their photos and files.",
    ),
    h("div", { class: "row" }, ...buttons),
    bar,
    cancel,
    status,
  );
}
