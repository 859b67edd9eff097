"""Health endpoints of the processes with no HTTP port of their own (`worker`, `relay`), served on
`RISCOSSA_HEALTH_PORT` (0: none) so an orchestrator can restart a hung one, not only a crashed one.

`GET /healthz` answers 200 while the process's event loop runs: the server is uvicorn on that same
loop, so a loop blocked by a stuck handler stops answering and the liveness probe fails; it answers
503 naming the condition when the process's watchdog finds it stuck (services/kernel/watchdog.py).
`GET /readyz` answers 200 or 503 with the checks of the dependencies (database, broker), as the web
processes' `/readyz` does (`services.kernel.web.readiness`).

The server installs no signal handlers: the process keeps its own (`riscossa worker` finishes the
messages in flight on SIGTERM) and stops this server when it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.kernel.redirects import relative_slash_redirects
from services.kernel.web import readiness

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[None]]
# A dependency that does not answer within this many seconds counts as down (the probe's own
# timeout in Kubernetes is a little longer, so the answer is a 503 naming it rather than no answer).
PROBE_SECONDS = 2.0


def bounded(probe: Probe, seconds: float = PROBE_SECONDS) -> Probe:
    async def check() -> None:
        await asyncio.wait_for(probe(), seconds)

    return check


def health_app(probes: dict[str, Probe], alive: Probe | None = None) -> Starlette:
    """`/healthz` (alive: the loop answers and `alive` passes) and `/readyz` (every probe answers)."""
    checks = {name: bounded(probe) for name, probe in probes.items()}

    async def healthz(request: Request) -> Response:
        if alive is not None:
            try:
                await alive()
            except Exception as exc:
                return JSONResponse({"status": "stuck", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        return await readiness(checks)

    return relative_slash_redirects(Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz)]))


class _OnTheCallersLoop(uvicorn.Server):
    """uvicorn without its signal handling: the process's own handlers stay in force."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HealthServer:
    """The health endpoints on `port` of every interface, on the running event loop (port 0: none,
    `start` and `stop` then do nothing)."""

    def __init__(
        self,
        port: int,
        probes: dict[str, Probe],
        host: str = "0.0.0.0",  # noqa: S104 (a pod's own port, probed by the kubelet)
        alive: Probe | None = None,
    ) -> None:
        self.port = port
        self.host = host
        config = uvicorn.Config(
            health_app(probes, alive),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _OnTheCallersLoop(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind now (a port in use fails here, not later) and serve in the background."""
        if not self.port:
            return
        sock = socket.create_server((self.host, self.port))
        sock.setblocking(False)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                sock.close()
                self._task.result()
                raise RuntimeError("the health server stopped while starting")
            await asyncio.sleep(0.01)
        log.info("health endpoints served", extra={"fields": {"port": self.port}})

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._task = None
