/**
 * @module web/attachments
 * Files and images in the web client (docs/protocol.md §8.10): the composer's attach button
 * with one chip per upload (a progress bar, and a button that cancels it), and how a message's
 * attachments show: an image inline at its stored aspect ratio, from the preview the server made
 * (never the full image scaled down here), opened whole on a click; any other file as a card
 * with its name and size that downloads it. Bytes are fetched with the session's token (an
 * attachment's URL alone grants nothing), and held as object URLs for the page's life.
 */
import type { ChatClient, WireAttachment } from "../../client/src/index.ts";
import { MAX_ATTACHMENT_BYTES } from "../../protocol/limits.ts";
import { h } from "./dom.ts";
import { errorText } from "./errors.ts";
import { icon } from "./icons.ts";

/** Largest box an inline image takes, in CSS pixels. */
const INLINE_MAX = 280;

/** "2.4 MB", "830 KB", "12 bytes". */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Object URLs of previews already fetched (one fetch per preview per page load). */
const previews = new Map<string, Promise<string>>();

function previewUrl(chat: ChatClient, channelId: string, a: WireAttachment): Promise<string> {
  let url = previews.get(a.id);
  if (!url) {
    url = chat.attachment(channelId, a.id, { preview: true }).then((blob) => URL.createObjectURL(blob));
    url.catch(() => previews.delete(a.id));
    previews.set(a.id, url);
  }
  return url;
}

/** Opens (an image) or saves (a file) the whole attachment. */
async function openWhole(chat: ChatClient, channelId: string, a: WireAttachment, toast: (t: string) => void) {
  try {
    const url = URL.createObjectURL(await chat.attachment(channelId, a.id));
    const link = h("a", { href: url, target: "_blank", rel: "noopener" });
    if (a.kind !== "image") link.setAttribute("download", a.name);
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    toast(errorText(err));
  }
}

/** A message's attachments, as shown in its bubble. */
export function attachmentsOf(
  chat: ChatClient,
  channelId: string,
  attachments: readonly WireAttachment[],
  toast: (text: string) => void,
): HTMLElement {
  const box = h("div", { class: "attachments" });
  for (const a of attachments) {
    if (a.kind === "image" && a.width && a.height && a.preview) {
      const scale = Math.min(1, INLINE_MAX / Math.max(a.width, a.height));
      const img = h("img", {
        alt: a.name,
        width: String(Math.round(a.width * scale)),
        height: String(Math.round(a.height * scale)),
        testid: "attachment-image",
      });
      // The box keeps the image's aspect ratio before its preview arrives: nothing jumps.
      img.style.aspectRatio = `${a.width} / ${a.height}`;
      void previewUrl(chat, channelId, a).then(
        (url) => {
          img.src = url;
        },
        () => img.setAttribute("data-state", "failed"),
      );
      box.append(
        h(
          "button",
          {
            type: "button",
            class: "attachment image",
            title: `${a.name} (${fileSize(a.size)})`,
            "aria-label": `Open image ${a.name}`,
            on: { click: () => void openWhole(chat, channelId, a, toast) },
          },
          img,
        ),
      );
    } else {
      box.append(
        h(
          "button",
          {
            type: "button",
            class: "attachment file",
            testid: "attachment-file",
            "aria-label": `Download ${a.name}, ${fileSize(a.size)}`,
            on: { click: () => void openWhole(chat, channelId, a, toast) },
          },
          icon("file", 28),
          h("span", { class: "name", testid: "attachment-name" }, a.name),
          h("span", { class: "size", testid: "attachment-size" }, fileSize(a.size)),
        ),
      );
    }
  }
  return box;
}

interface Upload {
  file: File;
  chip: HTMLElement;
  bar: HTMLProgressElement;
  abort: AbortController;
  done: WireAttachment | null;
}

/**
 * The composer's attachments: an attach button, and a chip per file chosen, uploading at once
 * with a progress bar and a cancel button. `ready()` lists the finished ones for the send.
 */
export class AttachmentComposer {
  readonly button: HTMLElement;
  readonly chips: HTMLElement;
  readonly #input: HTMLInputElement;
  readonly #uploads: Upload[] = [];
  readonly #chat: ChatClient;
  readonly #channelId: string;
  readonly #changed: () => void;
  readonly #toast: (text: string) => void;

  constructor(chat: ChatClient, channelId: string, changed: () => void, toast: (text: string) => void) {
    this.#chat = chat;
    this.#channelId = channelId;
    this.#changed = changed;
    this.#toast = toast;
    this.#input = h("input", {
      type: "file",
      multiple: true,
      hidden: true,
      testid: "attach-input",
      on: { change: () => this.#chose() },
    });
    this.button = h(
      "button",
      {
        type: "button",
        class: "icon",
        title: "Attach a photo or file",
        "aria-label": "Attach a photo or file",
        testid: "attach",
        on: { click: () => this.#input.click() },
      },
      icon("attach"),
      this.#input,
    );
    this.chips = h("div", { class: "upload-chips", testid: "upload-chips" });
  }

  /** True while a file is still uploading. */
  get busy(): boolean {
    return this.#uploads.some((u) => u.done === null);
  }

  /** The uploads that finished, in the order they were chosen. */
  ready(): WireAttachment[] {
    return this.#uploads.flatMap((u) => (u.done ? [u.done] : []));
  }

  /** Forgets the finished uploads (they were sent). */
  clear(): void {
    for (const u of this.#uploads.filter((x) => x.done)) this.#remove(u);
  }

  #chose(): void {
    for (const file of this.#input.files ?? []) {
      if (file.size > MAX_ATTACHMENT_BYTES) {
        this.#toast(
          `${file.name} is ${fileSize(file.size)}: files are at most ${fileSize(MAX_ATTACHMENT_BYTES)}.`,
        );
        continue;
      }
      if (file.size === 0) {
        this.#toast(`${file.name} is empty.`);
        continue;
      }
      this.#start(file);
    }
    this.#input.value = "";
  }

  #start(file: File): void {
    const bar = h("progress", {
      max: 1,
      value: 0,
      testid: "upload-progress",
      "aria-label": `Uploading ${file.name}`,
    });
    const abort = new AbortController();
    const chip = h(
      "div",
      { class: "upload-chip", testid: "upload-chip", "data-state": "uploading" },
      h("span", { class: "name" }, file.name),
      bar,
      h(
        "button",
        {
          type: "button",
          class: "plain-link",
          testid: "upload-cancel",
          "aria-label": `Cancel ${file.name}`,
          on: { click: () => this.#cancel(upload) },
        },
        "×",
      ),
    );
    const upload: Upload = { file, chip, bar, abort, done: null };
    this.#uploads.push(upload);
    this.chips.append(chip);
    this.#changed();
    this.#chat
      .uploadAttachment(this.#channelId, file, {
        signal: abort.signal,
        onProgress: (sent, total) => {
          bar.value = total > 0 ? sent / total : 0;
        },
      })
      .then(
        (attachment) => {
          upload.done = attachment;
          bar.value = 1;
          chip.dataset.state = "ready";
          this.#changed();
        },
        (err) => {
          this.#remove(upload);
          if (!abort.signal.aborted) this.#toast(`${file.name}: ${errorText(err)}`);
        },
      );
  }

  #cancel(u: Upload): void {
    u.abort.abort();
    this.#remove(u);
  }

  #remove(u: Upload): void {
    const i = this.#uploads.indexOf(u);
    if (i >= 0) this.#uploads.splice(i, 1);
    u.chip.remove();
    this.#changed();
  }
}
