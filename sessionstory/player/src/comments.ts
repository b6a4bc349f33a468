// The Comments panel: the team's notes pinned to moments of the session. A signed-in person adds one at
// the playhead; each shows as a row (a click seeks there) and as a mark on the timeline. Comment text is
// user input: only ever set as text, and the server caps and checks it too.
import { oneLine } from "./describe";
import { h } from "./dom";
import { Panel, type PanelContext } from "./panel-kit";
import { row, type Row } from "./rows";
import { text } from "./story";
import { formatTime } from "./time";

/** The server's limit (sessionstory/collab.py MAX_COMMENT_CHARS): the box stops there rather than fail. */
const MAX_CHARS = 2000;

/** Each comment's own address in the API (DELETE removes it). */
const COMMENT_URL = "/api/v1/comments/";

export interface TeamComment {
  id: string;
  /** ms after the session's first event. */
  at: number;
  body: string;
  author: string;
  canDelete: boolean;
}

/** Where comments are read and written, and the token a signed-in page must send with a write. */
export interface CommentsAccess {
  url: string;
  csrf: string;
}

/** `data-comments-url` and `data-csrf` of the player's root; null on pages without comments (live, shared). */
export function commentsAccess(root: HTMLElement): CommentsAccess | null {
  const url = root.dataset.commentsUrl;
  return url ? { url, csrf: root.dataset.csrf ?? "" } : null;
}

function readComment(raw: unknown): TeamComment | null {
  if (typeof raw !== "object" || raw === null) return null;
  const c = raw as Record<string, unknown>;
  if (typeof c.id !== "string" || typeof c.at_ms !== "number" || !Number.isFinite(c.at_ms)) return null;
  return { id: c.id, at: Math.max(0, c.at_ms), body: text(c.body), author: text(c.author), canDelete: c.can_delete === true };
}

/** The server's list, checked one by one: a malformed comment is dropped, not trusted. */
export function readComments(body: unknown): TeamComment[] {
  if (!Array.isArray(body)) return [];
  return body.map(readComment).filter((c): c is TeamComment => c !== null);
}

/** The error the server gave (`{"error": …}`), or the status. */
async function problem(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: unknown };
    if (typeof body.error === "string") return body.error;
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${response.status}`;
}

export class CommentsPanel extends Panel {
  private comments: TeamComment[] = [];
  private readonly box: HTMLTextAreaElement;
  private readonly addButton: HTMLButtonElement;
  private readonly note: HTMLElement;

  /**
   * `now` is the playhead, where a new comment is pinned; `onChange` gets the list whenever it changes
   * (the timeline's marks follow it).
   */
  constructor(
    private readonly access: CommentsAccess,
    ctx: PanelContext,
    private readonly now: () => number,
    private readonly onChange: (comments: TeamComment[]) => void,
  ) {
    super("comments", "Comments", "No comments yet. Pause where something matters and say what you see.", ctx);
    this.box = h("textarea", {
      class: "ss-comment-box",
      rows: "2",
      maxlength: String(MAX_CHARS),
      placeholder: "Comment on this moment…",
      "aria-label": "Comment on this moment",
    });
    this.addButton = h("button", { type: "button", class: "ss-btn ss-btn-text ss-comment-add" }, ["Comment"]);
    const form = h("form", { class: "ss-comment-form" }, [this.box, this.addButton]);
    this.addButton.type = "submit";
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.add();
    });
    // Ctrl+Enter sends, as in most comment boxes; the player's own keys must not fire while typing.
    this.box.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    this.note = h("p", { class: "ss-note", role: "status", hidden: "" });
    this.toolbar.append(form, this.note);
    this.setRows([]);
    this.setTime(0);
  }

  /** Asks for the comments: once the first frame is on screen, which their answer would otherwise hold up. */
  start(): void {
    void this.load();
  }

  count(): number {
    return this.comments.length;
  }

  protected keepToolbar(): boolean {
    return true;
  }

  setTime(ms: number): void {
    super.setTime(ms);
    const label = `Comment at ${formatTime(ms)}`;
    if (this.addButton.textContent !== label) this.addButton.textContent = label;
  }

  private async load(): Promise<void> {
    try {
      const response = await fetch(this.access.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(await problem(response));
      this.show(readComments(await response.json()));
    } catch (error) {
      console.warn("SessionStory player: could not load the comments:", error);
      this.say("The comments could not be loaded.");
    }
  }

  private async add(): Promise<void> {
    const body = this.box.value.trim();
    if (!body) {
      this.say("Write something first.");
      return;
    }
    const at = Math.round(this.now());
    this.addButton.disabled = true;
    try {
      const response = await this.send(this.access.url, "POST", JSON.stringify({ at_ms: at, body }));
      if (response.status !== 201) throw new Error(await problem(response));
      const made = readComment(await response.json());
      if (made) this.show([...this.comments, made]);
      this.box.value = "";
      this.say(`Comment added at ${formatTime(at)}.`);
    } catch (error) {
      this.say(`The comment was not saved: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.addButton.disabled = false;
    }
  }

  private async remove(comment: TeamComment): Promise<void> {
    try {
      const response = await this.send(`${COMMENT_URL}${encodeURIComponent(comment.id)}`, "DELETE");
      if (response.status !== 204 && response.status !== 404) throw new Error(await problem(response));
      this.show(this.comments.filter((c) => c.id !== comment.id));
      this.say("Comment deleted.");
    } catch (error) {
      this.say(`The comment was not deleted: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private send(url: string, method: string, body?: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json", "X-CSRF-Token": this.access.csrf };
    if (body) headers["Content-Type"] = "application/json";
    return fetch(url, { method, body, credentials: "same-origin", headers });
  }

  private show(comments: TeamComment[]): void {
    this.comments = comments.slice().sort((a, b) => a.at - b.at);
    this.setRows(this.comments.map((c) => this.row(c)));
    this.onChange(this.comments);
  }

  private say(message: string): void {
    this.note.textContent = message;
    this.note.hidden = false;
  }

  private row(c: TeamComment): Row {
    const body: Node[] = [h("span", { class: "ss-comment-author" }, [c.author]), h("span", { class: "ss-comment-body" }, [c.body])];
    if (c.canDelete) {
      const del = h("button", { type: "button", class: "ss-expand ss-comment-delete", "aria-label": `Delete the comment at ${formatTime(c.at)}` }, [
        "Delete",
      ]);
      del.addEventListener("click", () => void this.remove(c));
      body.push(del);
    }
    return row(c.at, body, { class: "ss-row-comment", search: `${c.author} ${c.body}`, label: `comment by ${c.author}: ${oneLine(c.body, 120)}` });
  }
}
