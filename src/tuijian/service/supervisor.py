"""Several uvicorn workers, each with its own listening socket, so the kernel spreads connections over them.

uvicorn's supervisor (``uvicorn.run(..., workers=N)``) binds one socket and hands it to every worker: the worker
whose event loop wakes first accepts every connection waiting at that moment. Clients that open their
keep-alive connections together (a shop's backend starting its pool, a load generator) then often land all on
one worker while the other idles: the load test's 12 connections split 12/0 in 12 of 18 two-worker runs
(``bench/RESULTS.md``, issue 14), and requests queue behind each other on one core while the second is idle.

:class:`BalancedMultiprocess` is uvicorn's own supervisor (health checks, restarts of dead workers, SIGHUP
reloads, SIGTERM shutdown) with one change: every worker process gets a socket of its own, bound to the same
address with ``SO_REUSEPORT``. Linux then picks the socket of each new connection by a hash of its addresses,
so connections spread over the workers independently of which one wakes first. A socket joins that choice
only when its worker listens, after the worker has loaded the model; the supervisor holds the port with one
more bound socket that never listens, and closes its copy of each worker's socket once the worker has it, so
a dead worker's socket closes with it and new connections go to the live ones.

Only Linux spreads TCP connections this way (macOS and the BSDs give them to one socket), so
:func:`balanced` is true only there; elsewhere, and with one worker, ``tuijian serve`` uses uvicorn's
supervisor as before.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from typing import Any

from uvicorn.config import Config
from uvicorn.supervisors.multiprocess import Multiprocess

from tuijian.exceptions import ConfigError

log = logging.getLogger("tuijian.service")


def balanced(workers: int, platform: str = sys.platform) -> bool:
    """True when ``workers`` processes are better served by one socket each (Linux, more than one worker)."""
    return workers > 1 and platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` with ``SO_REUSEPORT``, not listening yet (a worker listens on it
    once started). Raises :class:`~tuijian.exceptions.ConfigError` naming the address when it cannot be bound
    (another program holds the port, or the address is not this machine's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}; stop the program using that port or choose "
            "another --port / --host"
        ) from exc
    sock.set_inheritable(True)
    return sock


class BalancedMultiprocess(Multiprocess):
    """uvicorn's :class:`~uvicorn.supervisors.multiprocess.Multiprocess`, one ``SO_REUSEPORT`` socket per
    worker (see the module docstring).

    The base class starts every worker as ``Process(self.config, self.sockets)`` followed by ``start()``;
    here ``sockets`` is a property that binds a fresh socket for the worker about to start. The supervisor's
    copies of those sockets are closed before the next worker is made and on every health-check round (every
    0.5 s), once the worker they went to has started: the child inherited its descriptor at start."""

    def __init__(self, config: Config) -> None:
        self._holder = reuse_port_socket(config.host, config.port)  # holds the port; never listens
        self.port = int(self._holder.getsockname()[1])  # the port bound (``port=0``: one the system chose)
        self._handed: list[socket.socket] = []
        super().__init__(config, sockets=[])

    @property
    def sockets(self) -> list[socket.socket]:
        """A new socket for the worker about to start (the base class's ``Process(config, self.sockets)``)."""
        self._close_handed()  # the previous worker has started: it holds its own copy
        sock = reuse_port_socket(self.config.host, self.port)
        self._handed.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        """The base class's constructor stores the shared sockets it was given: there are none here."""

    def keep_subprocess_alive(self) -> None:
        self._close_handed()
        super().keep_subprocess_alive()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._close_handed()
            self._holder.close()

    def _close_handed(self) -> None:
        for sock in self._handed:
            sock.close()
        self._handed.clear()


def run_balanced(app: str, **kwargs: Any) -> None:
    """``uvicorn.run(app, **kwargs)`` with :class:`BalancedMultiprocess` as the supervisor (``workers`` > 1,
    a TCP host and port)."""
    config = Config(app, **kwargs)
    supervisor = BalancedMultiprocess(config)
    log.info("workers listen on one socket each", extra={"workers": config.workers, "port": supervisor.port})
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl-C stops the workers and returns
        supervisor.run()
