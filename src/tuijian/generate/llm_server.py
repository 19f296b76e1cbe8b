"""A local OpenAI-compatible server for a GGUF model: ``python -m llama_cpp.server`` as a child process.

:class:`LocalLLMServer` starts the server of ``llama-cpp-python`` (extra ``llm``) on 127.0.0.1, waits until it
answers ``GET /v1/models``, and stops it again; :class:`~tuijian.generate.backends.OpenAIChatBackend` then talks
to it exactly as it would to any hosted OpenAI-compatible endpoint::

    with LocalLLMServer("gemma3-270m") as server:
        backend = OpenAIChatBackend(server.base_url, model=server.model_alias)
        copy = CopyWriter(backend).write("description", facts, "zh")

The same server can be started by hand (see ``docs/llm.md``)::

    python -m llama_cpp.server --model PATH.gguf --host 127.0.0.1 --port 8080 --n_threads 1
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tuijian.exceptions import ConfigError, ModelNotFoundError, TuijianError
from tuijian.generate.llm_models import DEFAULT_MODEL, PACKAGED_MODELS, packaged_model_path


class ServerStartError(TuijianError):
    """The local model server exited or did not answer in time; the message ends with its log."""


def local_server_available(model: str = DEFAULT_MODEL) -> bool:
    """True when ``llama_cpp.server`` can start here on packaged model ``model`` (extra ``llm`` installed)."""
    import importlib.util

    from tuijian.generate.llm_models import model_installed

    return (
        importlib.util.find_spec("llama_cpp") is not None
        and importlib.util.find_spec("sse_starlette") is not None
        and model_installed(model)
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalLLMServer:
    """``python -m llama_cpp.server`` on one GGUF model, as a context manager.

    Parameters
    ----------
    model: a packaged model name (:data:`~tuijian.generate.llm_models.PACKAGED_MODELS`); ignored when
        ``model_path`` is given.
    model_path: any ``.gguf`` file.
    port: 0 picks a free port.
    n_threads: llama.cpp threads (default: half the CPU cores; its threads spin while waiting, so all the cores
        of a busy machine are slower than half).
    chat_format: a llama-cpp-python chat format (``"chatml"``, ``"gemma"``, …) for a GGUF file without a chat
        template; packaged models bring their own.
    startup_timeout: seconds to wait for the first answer.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        model_path: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        chat_format: str | None = None,
        startup_timeout: float = 120.0,
    ):
        self.model = model
        self.model_path = model_path
        self.host = host
        self.port = port
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.chat_format = chat_format
        self.startup_timeout = startup_timeout
        self.process_: subprocess.Popen[bytes] | None = None

    @property
    def system_role(self) -> bool:
        """Whether the served model has a system turn (pass it to ``OpenAIChatBackend(system_role=...)``)."""
        packaged = None if self.model_path else PACKAGED_MODELS.get(self.model)
        return packaged.system_role if packaged else True

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the served model writes (pass it to ``OpenAIChatBackend(languages=...)``)."""
        packaged = None if self.model_path else PACKAGED_MODELS.get(self.model)
        return packaged.languages if packaged else ("en", "zh")

    @property
    def model_alias(self) -> str:
        """The model name the server answers to (the ``model`` field of a request)."""
        return Path(self.model_path).stem if self.model_path else self.model

    @property
    def base_url(self) -> str:
        """``http://host:port/v1`` of the running server."""
        if self.process_ is None:
            raise ConfigError("the server is not running; call start() or use it as a context manager")
        return f"http://{self.host}:{self.port}/v1"

    def command(self, path: Path) -> list[str]:
        """The command line that starts the server on ``path``."""
        threads = self.n_threads if self.n_threads is not None else max(1, (os.cpu_count() or 2) // 2)
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ConfigError(f"n_threads must be a positive integer or None, got {self.n_threads!r}")
        packaged = None if self.model_path else PACKAGED_MODELS.get(self.model)
        chat_format = self.chat_format or (packaged.chat_format if packaged else None)
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--model_alias",
            self.model_alias,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            *(["--chat_format", chat_format] if chat_format else []),
        ]

    def start(self) -> str:
        """Start the server and wait until it answers; returns :attr:`base_url`."""
        from importlib.util import find_spec

        import httpx

        if self.process_ is not None:
            return self.base_url
        if find_spec("llama_cpp") is None or find_spec("sse_starlette") is None:
            raise ModelNotFoundError(
                "llama-cpp-python with its server is not installed; run scripts/build-llm-wheel.sh "
                "(or pip install 'tuijian[llm]')"
            )
        path = Path(self.model_path) if self.model_path else packaged_model_path(self.model)
        if not path.is_file():
            raise ModelNotFoundError(f"model_path {path} is not a file; pass the path of a .gguf model")
        if self.port == 0:
            self.port = free_port(self.host)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.process_ = subprocess.Popen(
            self.command(path), stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + self.startup_timeout
        url = f"http://{self.host}:{self.port}/v1/models"
        while time.monotonic() < deadline:
            code = self.process_.poll()
            if code is not None:
                log = self.log_tail()
                self.stop()
                raise ServerStartError(f"llama_cpp.server exited with code {code}: {log}")
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return self.base_url
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        log = self.log_tail()
        self.stop()
        raise ServerStartError(
            f"llama_cpp.server did not answer {url} within {self.startup_timeout:.0f} s "
            f"(raise startup_timeout on a slow machine): {log}"
        )

    def log_tail(self, n_chars: int = 2000) -> str:
        """The last characters of the server's output."""
        log = getattr(self, "_log", None)
        if log is None or log.closed:
            return ""
        log.seek(0)
        return log.read().decode("utf-8", "replace")[-n_chars:]

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process_ = self.process_, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()

    def __enter__(self) -> LocalLLMServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
