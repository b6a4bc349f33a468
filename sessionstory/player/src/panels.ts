// The inspector's panels: Console, Network, Errors, Pages and Events, each a list of rows in session time.
// Every string shown here is visitor data: it only ever goes into text nodes and attributes.
import {
  ERROR_KINDS,
  FRUSTRATIONS,
  MOMENT_NAMES,
  errorMessage,
  formatDuration,
  oneLine,
  pageName,
  shortUrl,
  statusText,
  target,
  vitalValue,
} from "./describe";
import { h } from "./dom";
import { badge, expander, Panel, type PanelContext } from "./panel-kit";
import { row, type Row } from "./rows";
import type { ConsoleEntry, CustomEntry, ErrorEntry, Moment, NetworkEntry, PageView, Story, VitalEntry } from "./story";

export class ConsolePanel extends Panel {
  constructor(private readonly entries: ConsoleEntry[], ctx: PanelContext) {
    super("console", "Console", "No console warnings or errors were recorded.", ctx);
    const pairs = entries.map((e) => [e, this.row(e)] as const);
    this.addChoice(
      "Level",
      [
        ["all", "All"],
        ["warn", "Warnings"],
        ["error", "Errors"],
      ],
      "all",
      (level) => {
        for (const [e, r] of pairs) r.shown = level === "all" || e.level === level;
      },
    );
    this.addSearch("console");
    this.setRows(pairs.map(([, r]) => r));
  }

  count(): number {
    return this.entries.length;
  }

  private row(e: ConsoleEntry): Row {
    const body: Node[] = [badge(e.level === "warn" ? "warning" : "error", e.level), h("span", { class: "ss-msg" }, [e.message])];
    if (e.stack) body.push(...expander("Stack", "Hide stack", e.stack));
    return row(e.time, body, {
      class: `ss-row-${e.level}`,
      search: `${e.level} ${e.message}`,
      label: `console ${e.level === "warn" ? "warning" : "error"}: ${oneLine(e.message, 120)}`,
    });
  }
}

export class NetworkPanel extends Panel {
  constructor(private readonly entries: NetworkEntry[], ctx: PanelContext) {
    super("network", "Network", "No requests were recorded.", ctx);
    const pairs = entries.map((n) => [n, this.row(n)] as const);
    this.addChoice(
      "Show",
      [
        ["all", "All"],
        ["failed", "Failed"],
      ],
      "all",
      (which) => {
        for (const [n, r] of pairs) r.shown = which === "all" || n.failed;
      },
    );
    this.addSearch("requests");
    if (entries.length) {
      const head = h("div", { class: "ss-net-head", "aria-hidden": "true" }, [
        h("span", {}, ["Time"]),
        h("span", {}, ["Method"]),
        h("span", {}, ["URL"]),
        h("span", {}, ["Status"]),
        h("span", {}, ["Duration"]),
        h("span", {}, ["Waterfall"]),
      ]);
      this.element.insertBefore(head, this.list.element);
    }
    this.setRows(pairs.map(([, r]) => r));
  }

  count(): number {
    return this.entries.length;
  }

  private row(n: NetworkEntry): Row {
    const url = shortUrl(n.url, this.ctx.home);
    const status = h("span", { class: `ss-status${n.failed ? " ss-bad" : ""}` }, [statusText(n)]);
    if (n.error) status.title = n.error;
    const body: Node[] = [
      h("span", { class: "ss-method" }, [n.method]),
      h("span", { class: "ss-url-cell", title: n.url }, [url]),
      status,
      h("span", { class: "ss-dur" }, [formatDuration(n.duration)]),
      this.waterfall(n),
    ];
    if (n.status === 0 && n.error) body.push(h("span", { class: "ss-net-error" }, [n.error]));
    return row(n.time, body, {
      class: `ss-row-net${n.failed ? " ss-row-failed" : ""}`,
      search: `${n.method} ${n.url} ${n.status} ${n.type} ${n.error}`,
      label: `${n.method} ${oneLine(url, 120)}, ${n.status === 0 ? "failed" : `status ${n.status}`}, ${formatDuration(n.duration)}`,
    });
  }

  /** Where the request sits in the whole session: its start and its duration (at least a sliver). */
  private waterfall(n: NetworkEntry): HTMLElement {
    const bar = h("span", { class: "ss-wf-bar" });
    const total = this.ctx.total || 1;
    const left = Math.min(100, (n.time / total) * 100);
    bar.style.left = `${left}%`;
    bar.style.width = `max(2px, ${Math.min(100 - left, (n.duration / total) * 100)}%)`;
    return h("span", { class: "ss-wf", "aria-hidden": "true" }, [bar]);
  }
}

export class ErrorsPanel extends Panel {
  constructor(private readonly entries: ErrorEntry[], ctx: PanelContext) {
    super("errors", "Errors", "No JavaScript errors were recorded.", ctx);
    if (entries.length > 3) this.addSearch("errors");
    this.setRows(entries.map((e) => this.row(e)));
  }

  count(): number {
    return this.entries.length;
  }

  alarming(): boolean {
    return this.entries.length > 0;
  }

  private row(e: ErrorEntry): Row {
    const message = errorMessage(e);
    const kind = ERROR_KINDS[e.kind] ?? e.kind;
    const body: Node[] = [badge(kind, "error"), h("span", { class: "ss-msg ss-error-msg" }, [message])];
    const [toggle, stack] = e.stack ? expander("Stack trace", "Hide stack trace", e.stack) : [null, null];
    if (toggle) body.push(toggle); // at the end of the first line, as in the console
    if (e.source && e.kind !== "resource") {
      const where = `${shortUrl(e.source, this.ctx.home)}${e.line ? `:${e.line}${e.col ? `:${e.col}` : ""}` : ""}`;
      body.push(h("span", { class: "ss-source", title: e.source }, [where]));
    }
    if (stack) body.push(stack);
    return row(e.time, body, {
      class: "ss-row-error",
      search: `${kind} ${e.message} ${e.source} ${e.stack}`,
      label: `${kind}: ${oneLine(message, 120)}`,
    });
  }
}

export class PagesPanel extends Panel {
  constructor(private readonly pages: PageView[], ctx: PanelContext) {
    super("pages", "Pages", "No page views were recorded.", ctx);
    this.setRows(pages.map((p, i) => this.row(p, (pages[i + 1]?.time ?? ctx.total) - p.time)));
  }

  count(): number {
    return this.pages.length;
  }

  private row(p: PageView, stay: number): Row {
    const name = pageName(p, this.ctx.home);
    const body: Node[] = [
      h("span", { class: "ss-page-title" }, [name]),
      badge(p.kind, "muted"),
      h("span", { class: "ss-stay", title: "Time on this page" }, [formatDuration(Math.max(0, stay))]),
      h("span", { class: "ss-page-url", title: p.url }, [p.url]),
    ];
    return row(p.time, body, { class: "ss-row-page", search: `${p.title} ${p.url}`, label: `page view: ${oneLine(name, 120)}` });
  }
}

type EventGroup = "frustration" | "interaction" | "custom" | "page" | "vital";

const GROUP_ORDER: Record<EventGroup, number> = { page: 0, interaction: 1, frustration: 2, custom: 3, vital: 4 };

interface EventItem {
  time: number;
  group: EventGroup;
  /** The dot's colour and shape: one of the timeline's marker kinds, or identify/vital/input. */
  dot: string;
  kind: string;
  main: string;
  detail: string;
}

export class EventsPanel extends Panel {
  private readonly note: HTMLElement;
  private items: EventItem[] = [];
  private group = "all";

  /** `moments` as setMoments takes them: the rows are built once, with what is known now. */
  constructor(
    private readonly story: Story,
    ctx: PanelContext,
    moments: Moment[] | null = null,
    status: "loading" | "failed" | "ready" = "loading",
  ) {
    super("events", "Events", "No events were recorded.", ctx);
    this.addSelect(
      "Show",
      [
        ["all", "All events"],
        ["frustration", "Frustration signals"],
        ["interaction", "Clicks and inputs"],
        ["custom", "Custom events"],
        ["page", "Page views"],
        ["vital", "Web vitals"],
      ],
      (group) => {
        this.group = group;
        this.applyGroup();
      },
    );
    this.addSearch("events");
    this.note = h("p", { class: "ss-note", role: "status" });
    this.toolbar.after(this.note);
    this.setMoments(moments, status);
  }

  /**
   * Adds the server's moments. Until they arrive, or if they never do, the recording's own click and
   * input events stand in (without the frustration signals, which only the server judges).
   */
  setMoments(moments: Moment[] | null, status: "loading" | "failed" | "ready"): void {
    const interactions = (moments ?? this.story.clicks).map((m) => this.momentItem(m));
    // At the same moment: the page, then the click, then what the click turned out to be.
    this.items = this.ownItems()
      .concat(interactions)
      .sort((a, b) => a.time - b.time || GROUP_ORDER[a.group] - GROUP_ORDER[b.group]);
    this.note.hidden = status === "ready";
    this.note.textContent =
      status === "loading"
        ? "Loading clicks and frustration signals…"
        : "Frustration signals could not be loaded; the clicks and inputs shown are from the recording.";
    this.setRows(this.items.map((item) => this.row(item)));
    this.applyGroup();
  }

  count(): number {
    return this.items.length;
  }

  protected keepToolbar(): boolean {
    return true;
  }

  private applyGroup(): void {
    this.rows.forEach((r, i) => {
      r.shown = this.group === "all" || this.items[i].group === this.group;
    });
    this.list.filter();
  }

  private ownItems(): EventItem[] {
    const home = this.ctx.home;
    const items: EventItem[] = [];
    for (const p of this.story.pages) {
      items.push({ time: p.time, group: "page", dot: "page", kind: "Page view", main: pageName(p, home), detail: shortUrl(p.url, home) });
    }
    for (const c of this.story.custom) items.push(this.customItem(c));
    for (const v of this.story.vitals) items.push(this.vitalItem(v));
    return items;
  }

  private customItem(c: CustomEntry): EventItem {
    return c.tag === "track"
      ? { time: c.time, group: "custom", dot: "custom", kind: "Custom event", main: c.name, detail: c.detail }
      : { time: c.time, group: "custom", dot: "identify", kind: "Identify", main: c.name, detail: c.detail };
  }

  private vitalItem(v: VitalEntry): EventItem {
    const rating = v.rating.replace(/-/g, " ");
    return {
      time: v.time,
      group: "vital",
      dot: `vital-${v.rating === "poor" ? "poor" : v.rating === "good" ? "good" : "meh"}`,
      kind: "Web vital",
      main: `${v.name} ${vitalValue(v)}`,
      detail: rating,
    };
  }

  private momentItem(m: Moment): EventItem {
    const frustrated = FRUSTRATIONS.has(m.kind);
    const dot =
      m.kind === "rage_click" ? "rage" : m.kind === "dead_click" ? "dead" : m.kind === "error_click" ? "error-click" : frustrated ? "signal" : m.kind;
    // What was clicked; for signals about a page (quick back, scrolling), which page. The URL bar shows the rest.
    const what = target(m) || (m.url ? shortUrl(m.url, this.ctx.home) : "");
    return { time: m.time, group: frustrated ? "frustration" : "interaction", dot, kind: MOMENT_NAMES[m.kind], main: what, detail: "" };
  }

  private row(item: EventItem): Row {
    const body: Node[] = [
      h("span", { class: `ss-dot ss-mark-${item.dot}`, "aria-hidden": "true" }),
      h("span", { class: "ss-kind" }, [item.kind]),
      h("span", { class: "ss-what", title: item.main }, [item.main]),
    ];
    if (item.detail) body.push(h("span", { class: "ss-detail", title: item.detail }, [item.detail]));
    return row(item.time, body, {
      class: `ss-row-event ss-row-${item.group}`,
      search: `${item.kind} ${item.main} ${item.detail}`,
      label: `${item.kind}: ${oneLine(`${item.main} ${item.detail}`, 120)}`,
    });
  }
}
