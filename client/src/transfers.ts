/**
 * @module client/transfers
 * Requests that carry bytes rather than JSON: uploading an attachment (with progress and
 * cancelling, docs/protocol.md §8.10), reading an attachment or its preview, and streaming
 * "download my data" (§8.12). Each is authorised with the session's access token, refreshed
 * once if the server says it expired. In a browser an upload goes through XMLHttpRequest,
 * the one API that reports upload progress; elsewhere through fetch.
 */
import type { ErrorEnvelope } from "../../protocol/errors.ts";
import type { WireAttachment } from "../../protocol/frames.ts";
import { ChatApiError } from "./chat-api-error.ts";

export interface TransferDeps {
  url(path: string): string;
  fetch: typeof fetch;
  token(): Promise<string>;
  refresh(stale: string): Promise<void>;
}

export interface UploadOptions {
  /** The file's name (a `File` has one). */
  name?: string;
  /** What the file is; the server checks it against the bytes. */
  type?: string;
  /** Bytes sent so far, of `total`. */
  onProgress?: (sent: number, total: number) => void;
  /** Aborting cancels the upload: nothing is kept. */
  signal?: AbortSignal;
}

/** Uploads one file to a channel; resolves with the attachment to name in a send. */
export async function uploadAttachment(
  d: TransferDeps,
  channelId: string,
  file: Blob,
  options: UploadOptions = {},
): Promise<WireAttachment> {
  const name = options.name ?? (file as Blob & { name?: string }).name ?? "file";
  const path = `/v1/channels/${encodeURIComponent(channelId)}/attachments?name=${encodeURIComponent(name)}`;
  const type = options.type || file.type || "application/octet-stream";
  const attempt = async (token: string) =>
    typeof XMLHttpRequest === "function"
      ? viaXhr(d.url(path), token, file, type, options)
      : viaFetch(d, d.url(path), token, file, type, options);
  let token = await d.token();
  let res = await attempt(token);
  if (res.status === 401 && res.code === "token_expired") {
    await d.refresh(token);
    token = await d.token();
    res = await attempt(token);
  }
  if (res.status !== 201) throw apiError(res.status, res.body);
  return (res.body as { attachment: WireAttachment }).attachment;
}

interface RawAnswer {
  status: number;
  body: unknown;
  code: string | undefined;
}

function viaXhr(url: string, token: string, file: Blob, type: string, o: UploadOptions): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("authorization", `Bearer ${token}`);
    xhr.setRequestHeader("content-type", type);
    xhr.upload.onprogress = (e) => o.onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      const body = parse(xhr.responseText);
      resolve({ status: xhr.status, body, code: errorCode(body) });
    };
    xhr.onerror = () => reject(new ChatApiError("network", 0, "the upload failed: network error"));
    xhr.onabort = () => reject(new ChatApiError("cancelled", 0, "the upload was cancelled"));
    o.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    if (o.signal?.aborted) return xhr.abort();
    xhr.send(file);
  });
}

async function viaFetch(
  d: TransferDeps,
  url: string,
  token: string,
  file: Blob,
  type: string,
  o: UploadOptions,
): Promise<RawAnswer> {
  let res: Response;
  try {
    res = await d.fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": type },
      body: file,
      ...(o.signal && { signal: o.signal }),
    });
  } catch (err) {
    if (o.signal?.aborted) throw new ChatApiError("cancelled", 0, "the upload was cancelled");
    throw new ChatApiError("network", 0, `the upload failed: ${String(err)}`, undefined, err);
  }
  o.onProgress?.(file.size, file.size);
  const body = parse(await res.text());
  return { status: res.status, body, code: errorCode(body) };
}

/**
 * An authorised GET whose body is bytes (an attachment, a preview, an export); the response is
 * returned unread, so its body can be streamed. Throws {@link ChatApiError} on an error answer.
 */
export async function getBytes(d: TransferDeps, path: string, signal?: AbortSignal): Promise<Response> {
  const get = async (token: string) => {
    try {
      return await d.fetch(d.url(path), {
        headers: { authorization: `Bearer ${token}` },
        ...(signal && { signal }),
      });
    } catch (err) {
      throw new ChatApiError("network", 0, `network error: ${String(err)}`, undefined, err);
    }
  };
  let token = await d.token();
  let res = await get(token);
  if (res.status === 401) {
    const body = parse(await res.text());
    if (errorCode(body) !== "token_expired") throw apiError(res.status, body);
    await d.refresh(token);
    token = await d.token();
    res = await get(token);
  }
  if (!res.ok) throw apiError(res.status, parse(await res.text()));
  return res;
}

function parse(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorCode(body: unknown): string | undefined {
  return (body as Partial<ErrorEnvelope> | undefined)?.error?.code;
}

function apiError(status: number, body: unknown): ChatApiError {
  const error = (body as Partial<ErrorEnvelope> | undefined)?.error;
  if (error && typeof error.code === "string")
    return new ChatApiError(
      error.code,
      status,
      error.message,
      error.details,
      undefined,
      error.retry_after_ms,
    );
  return new ChatApiError(status >= 500 ? "internal" : "bad_request", status, `HTTP ${status}`);
}
