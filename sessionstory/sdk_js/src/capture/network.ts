// fetch and XMLHttpRequest calls: what was asked, how it ended and how long it
// took. Never headers or bodies; responses are not read, only their status.
// The wrappers hand back exactly what the originals return or throw.

import { guard } from "../guard";
import type { Emit } from "./sink";
import { clip } from "./text";
import { scrubUrl } from "./url";

/** Reports a settled call: its status, Content-Length and error. */
type Done = (status: number, length?: string | null, error?: unknown) => void;
type Begin = (type: string, method: unknown, url: unknown, body: unknown) => Done | undefined;

/** Body length when it costs nothing to know. */
function size(body: unknown): number | undefined {
  if (typeof body === "string") return body.length;
  if (body instanceof Blob) return body.size;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
}

export function installNetwork(emit: Emit, ingestUrl: string): void {
  /** Starts timing a call; undefined for the SDK's own ingest requests. */
  const begin: Begin = (type, method, rawUrl, body) => {
    const url = scrubUrl(String(rawUrl));
    const start = performance.now();
    const req_size = size(body);
    if (url.split("?")[0] !== ingestUrl) {
      return guard((status, length, error) =>
        emit("network", {
          type,
          method: String(method || "GET").toUpperCase(),
          url,
          status,
          duration: Math.round(performance.now() - start),
          // Fields left undefined are left out of the JSON.
          req_size,
          res_size: length ? +length : undefined,
          error: error ? clip(String((error as Error).message || error), 300) : undefined,
        }),
      );
    }
  };
  wrapFetch(guard(begin));
  wrapXhr(guard(begin));
}

function wrapFetch(begin: Begin): void {
  const original = window.fetch;
  window.fetch = function (this: unknown, ...args: Parameters<typeof fetch>) {
    const [input, init] = args;
    const request = input as Request;
    // Read through begin's guard: bad arguments must fail inside fetch, as a rejection.
    const done = begin("fetch", init && init.method || request && request.method, request && request.url || input, init && init.body);
    const promise = original.apply(this, args);
    return done
      ? promise.then(
          (response) => {
            done(response.status, response.headers.get("content-length"));
            return response;
          },
          (error) => {
            done(0, null, error || "failed");
            throw error;
          },
        )
      : promise;
  };
}

function wrapXhr(begin: Begin): void {
  const proto = XMLHttpRequest.prototype;
  const { open, send } = proto as unknown as Record<string, (...args: unknown[]) => unknown>;
  const opened = new WeakMap<XMLHttpRequest, unknown[]>();
  /** The latest send of each XHR, and how it failed (an event type: error, abort, timeout). */
  const calls = new WeakMap<XMLHttpRequest, [Done | undefined, string?]>();
  const onEnd = guard(function (this: XMLHttpRequest, e: Event) {
    const call = calls.get(this)!;
    if (e.type !== "loadend") call[1] = e.type;
    else if (call[0]) call[0](this.status, this.getResponseHeader("content-length"), call[1]);
  });
  const watch = guard((xhr: XMLHttpRequest, body: unknown) => {
    const [method, url] = opened.get(xhr) || [];
    // A reused XHR keeps its listeners: add them the first time only.
    if (!calls.has(xhr)) for (const type of ["error", "abort", "timeout", "loadend"]) xhr.addEventListener(type, onEnd);
    calls.set(xhr, [begin("xhr", method, url, body)]);
  });
  proto.open = function (this: XMLHttpRequest, ...args: unknown[]) {
    opened.set(this, args);
    return open.apply(this, args);
  };
  proto.send = function (this: XMLHttpRequest, ...args: unknown[]) {
    watch(this, args[0]);
    return send.apply(this, args);
  };
}
