// fetch and XMLHttpRequest calls: what was asked, how it ended and how long it
// took. Never headers or bodies; responses are not read, only their status.
// The wrappers hand back exactly what the originals return or throw.

import { guard } from "../guard";
import { patch } from "./patch";
import type { Emit } from "./sink";
import { clip } from "./text";
import { scrubUrl } from "./url";

/** Reports a settled call: its status, Content-Length and error. */
type Done = (status: number, length?: string | null, error?: any) => void;

export const installNetwork = (emit: Emit, ingestUrl: string): void => {
  /** Starts timing a call; undefined for the SDK's own ingest requests. Callers guard it. */
  const begin = (type: string, method: unknown, rawUrl: unknown, body: any): Done | undefined => {
    const url = scrubUrl(rawUrl);
    const start = performance.now();
    // Body length when it costs nothing to know (strings, blobs, buffers and their views).
    const req_size = typeof body == "string" ? body.length : body instanceof Blob ? body.size : body?.byteLength;
    if (url.split("?")[0] != ingestUrl) {
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
          error: error ? clip(String(error.message || error), 300) : undefined,
        }),
      );
    }
  };

  // Reads the arguments inside a guard: bad ones must fail inside fetch, as a rejection.
  const fetched = guard(([input, init]: any[]) =>
    begin("fetch", init?.method || input?.method, input?.url || input, init?.body),
  );
  patch(window, "fetch", (call, _, args) => {
    const done = fetched(args);
    const promise: Promise<Response> = call();
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
  });

  const proto = XMLHttpRequest.prototype;
  /** Per XHR: open()'s method and URL, then send()'s Done and how it failed (an event type: error, abort, timeout). */
  const calls = new WeakMap<XMLHttpRequest, [method: unknown, url: unknown, done?: Done, error?: string]>();
  const onEvent = guard(function (this: XMLHttpRequest, { type }: { type: string }) {
    const call = calls.get(this)!;
    if (type != "loadend") {
      call[3] = type;
    } else if (call[2] && this.readyState == 4) {
      // Only while DONE: status and headers are those of the request that ended.
      call[2](this.status, this.getResponseHeader("content-length"), call[3]);
      call[2] = undefined;
    }
  });
  const opened = guard((xhr: XMLHttpRequest, [method, url]: unknown[]) => {
    if (calls.has(xhr)) {
      // Reopened from a listener that ran before ours: settle before open() resets it.
      onEvent.call(xhr, { type: "loadend" });
    } else {
      // Listening from the first open() (and once) puts us ahead of most page listeners.
      for (const type of ["error", "abort", "timeout", "loadend"]) xhr.addEventListener(type, onEvent);
    }
    calls.set(xhr, [method, url]);
  });
  const sent = guard((xhr: XMLHttpRequest, body: unknown) => {
    const call = calls.get(xhr)!;
    call[2] = begin("xhr", call[0], call[1], body);
  });
  patch(proto, "open", (call, xhr, args) => (opened(xhr, args), call()));
  patch(proto, "send", (call, xhr, args) => (sent(xhr, args[0]), call()));
};
