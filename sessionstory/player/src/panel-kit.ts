// What every panel of the inspector is made of: a toolbar (filters, search) over a RowList.
import { h } from "./dom";
import { RowList, type Row } from "./rows";

export interface PanelContext {
  /** The session's length, for waterfalls. */
  total: number;
  /** The session's own origin: its URLs are shown as paths. */
  home: string;
  seek(ms: number): void;
}

export abstract class Panel {
  readonly element: HTMLElement;
  protected readonly toolbar: HTMLElement;
  protected readonly list: RowList;
  protected rows: Row[] = [];

  constructor(
    readonly id: string,
    readonly title: string,
    emptyText: string,
    protected readonly ctx: PanelContext,
  ) {
    this.list = new RowList(title, emptyText, (ms) => ctx.seek(ms));
    this.toolbar = h("div", { class: "ss-panel-tools" });
    this.element = h("div", { class: `ss-panel ss-panel-${id}` }, [this.toolbar, this.list.element]);
  }

  /** The number in the tab's label. */
  abstract count(): number;

  /** Whether the count is bad news (shown in red). */
  alarming(): boolean {
    return false;
  }

  setTime(ms: number): void {
    this.list.setTime(ms);
  }

  shown(): void {
    this.list.shown();
  }

  follow(): void {
    this.list.follow();
  }

  protected setRows(rows: Row[]): void {
    this.rows = rows;
    this.list.setRows(rows);
    this.toolbar.hidden = rows.length === 0 && !this.keepToolbar();
  }

  /** Panels whose toolbar says something even when empty keep it. */
  protected keepToolbar(): boolean {
    return false;
  }

  /** A search box that filters the rows by their text. */
  protected addSearch(what: string): void {
    const input = h("input", {
      type: "search",
      class: "ss-search",
      placeholder: `Search ${what}`,
      "aria-label": `Search ${what}`,
      autocomplete: "off",
      spellcheck: "false",
    });
    input.addEventListener("input", () => this.list.filter(input.value));
    this.toolbar.append(input);
  }

  /** A row of toggle buttons of which one is pressed; calls `onChange` with the chosen value. */
  protected addChoice(label: string, options: [string, string][], initial: string, onChange: (value: string) => void): void {
    const buttons = options.map(([value, text]) => {
      const b = h("button", { type: "button", class: "ss-choice", "aria-pressed": String(value === initial) }, [text]);
      b.addEventListener("click", () => {
        for (const x of buttons) x.setAttribute("aria-pressed", String(x === b));
        onChange(value);
        this.list.filter();
      });
      return b;
    });
    this.toolbar.append(h("div", { class: "ss-choices", role: "group", "aria-label": label }, buttons));
  }

  /** A drop-down filter; calls `onChange` with the chosen value. */
  protected addSelect(label: string, options: [string, string][], onChange: (value: string) => void): void {
    const select = h(
      "select",
      { class: "ss-select", "aria-label": label, title: label },
      options.map(([value, text]) => h("option", { value }, [text])),
    );
    select.addEventListener("change", () => {
      onChange(select.value);
      this.list.filter();
    });
    this.toolbar.append(select);
  }
}

let ids = 0;

/** A button that shows or hides a block of preformatted text (a stack trace, props). */
export function expander(showText: string, hideText: string, content: string): [HTMLButtonElement, HTMLElement] {
  const id = `ss-x${++ids}`;
  const block = h("pre", { class: "ss-pre", id, hidden: "" }, [content]);
  const button = h("button", { type: "button", class: "ss-expand", "aria-expanded": "false", "aria-controls": id }, [
    showText,
  ]);
  button.addEventListener("click", () => {
    const open = block.hidden;
    block.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? hideText : showText;
  });
  return [button, block];
}

/** A small coloured label ("error", "POST", "push"). */
export function badge(text: string, kind: string): HTMLElement {
  return h("span", { class: `ss-badge ss-badge-${kind}` }, [text]);
}
