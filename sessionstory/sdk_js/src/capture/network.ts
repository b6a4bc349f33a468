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
  const guarded = guard(begin);
  wrapFetch(guarded);
  wrapXhr(guarded);
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
  /** Each XHR's unsettled send, and how it failed (an event type: error, abort, timeout). */
  const calls = new WeakMap<XMLHttpRequest, [Done, string?]>();
  const settle = (xhr: XMLHttpRequest) => {
    const call = calls.get(xhr);
    // Only while DONE: status and headers are those of the request that ended.
    if (call && xhr.readyState === 4) {
      calls.delete(xhr);
      call[0](xhr.status, xhr.getResponseHeader("content-length"), call[1]);
    }
  };
  const onEvent = guard(function (this: XMLHttpRequest, e: Event) {
    const call = calls.get(this);
    if (e.type === "loadend") settle(this);
    else if (call) call[1] = e.type;
  });
  const track = guard((xhr: XMLHttpRequest, args: unknown[]) => {
    // Reopened from a listener that ran before ours: settle before open() resets it.
    settle(xhr);
    // Listening from the first open() (and once) puts us ahead of most page listeners.
    if (!opened.has(xhr)) for (const type of ["error", "abort", "timeout", "loadend"]) xhr.addEventListener(type, onEvent);
    opened.set(xhr, args);
  });
  proto.open = function (this: XMLHttpRequest, ...args: unknown[]) {
    track(this, args);
    return open.apply(this, args);
  };
  proto.send = function (this: XMLHttpRequest, ...args: unknown[]) {
    const [method, url] = opened.get(this) || [];
    const done = begin("xhr", method, url, args[0]);
    if (done) calls.set(this, [done]);
    return send.apply(this, args);
  };
}
