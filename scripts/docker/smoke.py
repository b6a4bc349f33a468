"""The checks of `make docker-test` against a running container (see scripts/docker-test.sh).

    smoke.py drive --base-url URL --container NAME --email ADMIN --state FILE
    smoke.py persisted --base-url URL --container NAME --state FILE
    smoke.py healthy --container NAME

`drive` talks to the server only as a user would: HTTP on the published (loopback)
port and the CLI through `podman exec`. It writes what it made to FILE; `persisted`
checks, on a new container on the same volume, that it is all still there.
Standard library only: it runs with the machine's python3.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TIMEOUT_S = 90
INSIGHT_TIMEOUT_S = 300  # the first one assembles the model (~250 MB) and loads it


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def fail(text: str) -> None:
    print(f"docker-test: FAILED: {text}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def http(method: str, url: str, body: Any = None, token: str | None = None,
         timeout: float = 30) -> tuple[int, bytes, dict[str, str]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def get_json(url: str, token: str | None = None) -> Any:
    status, body, _ = http("GET", url, token=token)
    if status != 200:
        fail(f"GET {url} answered {status}: {body[:300]!r}")
    return json.loads(body)


def podman(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        fail(f"podman {' '.join(args)} exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def wait_healthz(base: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    started = time.monotonic()
    while True:
        try:
            status, body, _ = http("GET", f"{base}/healthz")
            if status == 200 and json.loads(body) == {"status": "ok"}:
                say(f"/healthz answers {{\"status\": \"ok\"}} after {time.monotonic() - started:.1f}s")
                return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            fail(f"{base}/healthz did not answer 200 within {TIMEOUT_S}s")
        time.sleep(0.5)


def health_status(container: str) -> str:
    return podman("inspect", "--format", "{{.State.Health.Status}}", container).strip()


def wait_healthy(container: str) -> None:
    """The image's HEALTHCHECK, as the engine runs it, must report healthy.

    Docker runs it on its own timer; podman schedules it through systemd, which this
    machine lacks, so when nothing has run it yet we run it the way the timer would.
    """
    deadline = time.monotonic() + TIMEOUT_S
    while (status := health_status(container)) != "healthy":
        if status in ("", "<no value>"):
            fail("the container has no health status: the image lost its HEALTHCHECK")
        if time.monotonic() > deadline:
            fail(f"the container's health is {status!r}, not healthy, after {TIMEOUT_S}s")
        subprocess.run(["podman", "healthcheck", "run", container], capture_output=True, timeout=60)
        time.sleep(1)
    say(f"the container's HEALTHCHECK reports: {status}")


def events(now_ms: int) -> list[dict[str, Any]]:
    """An rrweb Meta, a FullSnapshot and one custom event, as the SDK sends them."""
    return [
        {"type": 4, "timestamp": now_ms, "data": {"href": "https://shop.example/", "width": 1280, "height": 800}},
        {"type": 2, "timestamp": now_ms + 5, "data": {
            "node": {"type": 0, "id": 1, "childNodes": [
                {"type": 1, "id": 2, "name": "html", "publicId": "", "systemId": ""},
                {"type": 2, "id": 3, "tagName": "html", "attributes": {}, "childNodes": [
                    {"type": 2, "id": 4, "tagName": "body", "attributes": {}, "childNodes": [
                        {"type": 3, "id": 5, "textContent": "Hello from docker-test"}]}]}]},
            "initialOffset": {"left": 0, "top": 0}}},
        {"type": 5, "timestamp": now_ms + 10, "data": {"tag": "page", "payload": {
            "url": "https://shop.example/", "title": "Shop", "kind": "load", "referrer": ""}}},
    ]


def drive(args: argparse.Namespace) -> None:
    base, ctr = args.base_url, args.container
    wait_healthz(base)

    uid = podman("exec", ctr, "id", "-u").strip()
    if uid != "10001":
        fail(f"the server runs as uid {uid}, not 10001")
    say("the server runs as uid 10001")

    project = json.loads(podman("exec", ctr, "sessionstory", "project", "create", "--name", "Test"))
    if project.get("name") != "Test" or not project.get("public_key"):
        fail(f"project create printed {project!r}")
    say(f"podman exec … sessionstory project create --name Test: project {project['id']}")

    member = json.loads(podman("exec", "-i", ctr, "sessionstory", "user", "create", "--email",
                               "member@example.com", "--password-stdin", stdin="member password 1\n"))
    if member.get("email") != "member@example.com":
        fail(f"user create printed {member!r}")
    say("podman exec -i … sessionstory user create --password-stdin: member@example.com")

    session_id = f"docker-test-{int(time.time() * 1000)}"
    sent = events(int(time.time() * 1000))
    batch = {"key": project["public_key"], "session_id": session_id, "visitor_id": "docker-test-visitor",
             "seq": 0, "events": sent}
    status, body, _ = http("POST", f"{base}/api/v1/ingest", batch)
    if status != 200 or json.loads(body) != {"ok": True}:
        fail(f"POST /api/v1/ingest answered {status}: {body[:300]!r}")
    say(f"POST /api/v1/ingest: 200 {{\"ok\": true}} ({len(sent)} events, session {session_id})")

    token = podman("exec", ctr, "sessionstory", "token", "create", "--email", args.email).strip()
    if not token or len(token.splitlines()) != 1:
        fail(f"token create printed {token!r}")
    say(f"podman exec … sessionstory token create --email {args.email}: a token")

    state = {"token": token, "project": project, "session_id": session_id, "events": sent}
    check_stored(base, state)

    for path, kind in (("/sdk.js", "javascript"), ("/static/dist/player.js", "javascript"),
                       ("/static/dist/player.css", "css"), ("/login", "html")):
        status, body, headers = http("GET", f"{base}{path}")
        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if status != 200 or kind not in content_type or len(body) < 100:
            fail(f"GET {path} answered {status} {content_type!r}, {len(body)} bytes")
    say("the SDK, the player bundle and the login page are served")

    check_insight(base, token, session_id)
    wait_healthy(ctr)
    Path(args.state).write_text(json.dumps(state))


def check_insight(base: str, token: str, session_id: str) -> None:
    """The local model (llama.cpp and the bundled GGUF) runs inside the image, offline."""
    started = time.monotonic()
    url = f"{base}/api/v1/sessions/{session_id}/insight"
    status, body, _ = http("GET", url, token=token, timeout=INSIGHT_TIMEOUT_S)
    if status != 200:
        fail(f"GET {url} answered {status}: {body[:400]!r}")
    made = json.loads(body)
    if not isinstance(made.get("summary"), str) or not isinstance(made.get("signals"), list) \
            or not made.get("model") or made["model"] == "unavailable":
        fail(f"GET {url} answered {made!r}")
    say(f"GET /api/v1/sessions/{session_id}/insight: made by {made['model']} in "
        f"{time.monotonic() - started:.1f}s: {made['summary'][:80]!r}")


def check_stored(base: str, state: dict[str, Any]) -> None:
    token, project, session_id, sent = state["token"], state["project"], state["session_id"], state["events"]
    projects = get_json(f"{base}/api/v1/projects", token)
    if project not in projects:
        fail(f"GET /api/v1/projects lacks {project!r}: {projects!r}")
    deadline = time.monotonic() + 30
    while True:  # the index may trail the durable log by a moment
        page = get_json(f"{base}/api/v1/sessions?project={project['id']}", token)
        mine = [s for s in page["items"] if s["id"] == session_id]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if not mine:
        fail(f"GET /api/v1/sessions?project=… does not list {session_id}: {page!r}")
    if mine[0]["event_count"] != len(sent) or mine[0]["project_id"] != project["id"]:
        fail(f"the session is listed as {mine[0]!r}")
    say(f"GET /api/v1/sessions: {session_id}, {mine[0]['event_count']} events")
    stored = get_json(f"{base}/api/v1/sessions/{session_id}/events", token)
    if stored != sent:
        fail(f"GET /api/v1/sessions/{session_id}/events differs from what was sent:\n"
             f"  sent   {json.dumps(sent)[:600]}\n  stored {json.dumps(stored)[:600]}")
    say(f"GET /api/v1/sessions/{session_id}/events: the batch, event for event")


def persisted(args: argparse.Namespace) -> None:
    wait_healthz(args.base_url)
    state = json.loads(Path(args.state).read_text())
    check_stored(args.base_url, state)
    wait_healthy(args.container)
    say("the session, the project and the token outlived the container (they live in /data)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    for name in ("drive", "persisted"):
        step = sub.add_parser(name)
        step.add_argument("--base-url", required=True)
        step.add_argument("--container", required=True)
        step.add_argument("--state", required=True)
        if name == "drive":
            step.add_argument("--email", required=True)
    sub.add_parser("healthy").add_argument("--container", required=True)
    args = parser.parse_args()
    {"drive": drive, "persisted": persisted, "healthy": lambda a: wait_healthy(a.container)}[args.step](args)


if __name__ == "__main__":
    main()
