// A small non-modal popover opened by a button (keyboard shortcuts, the link fallback): Escape or a
// click elsewhere closes it, and focus goes back to the button that opened it.
import { h } from "./dom";

export class Popover {
  readonly element: HTMLElement;
  private readonly onOutside = (event: PointerEvent): void => {
    const target = event.target as Node;
    if (!this.element.contains(target) && !this.button.contains(target)) this.close(false);
  };

  constructor(
    private readonly button: HTMLButtonElement,
    label: string,
    content: Node[],
    extraClass = "",
  ) {
    const close = h("button", { type: "button", class: "ss-pop-close", "aria-label": "Close" }, ["×"]);
    close.addEventListener("click", () => this.close(true));
    this.element = h(
      "div",
      { class: `ss-pop ${extraClass}`.trim(), role: "dialog", "aria-label": label, tabindex: "-1", hidden: "" },
      [close, ...content],
    );
    this.element.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close(true);
      }
    });
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-expanded", "false");
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  open(focus: HTMLElement = this.element): void {
    this.element.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    document.addEventListener("pointerdown", this.onOutside, true);
    focus.focus({ preventScroll: true });
  }

  close(returnFocus: boolean): void {
    if (this.element.hidden) return;
    this.element.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", this.onOutside, true);
    if (returnFocus) this.button.focus({ preventScroll: true });
  }

  toggle(): void {
    if (this.isOpen) this.close(true);
    else this.open();
  }
}
