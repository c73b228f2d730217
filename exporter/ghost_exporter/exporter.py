"""The running exporter: configuration holder, scheduler, store and its own metrics together."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from ghost_common.cel import Evaluator
from ghost_exporter.config import Config, ConfigError, Target, load_config
from ghost_exporter.probes import ProbeContext, ProbeResult
from ghost_exporter.probes.timeout import run_probe
from ghost_exporter.scheduler import Scheduler
from ghost_exporter.selfmetrics import ExporterMetrics
from ghost_exporter.shard import Shard
from ghost_exporter.store import ResultStore

log = logging.getLogger(__name__)


class Exporter:
    """Loads the config, keeps every target probed, and answers reloads.

    A reload parses into a fresh Config and swaps only on success: a bad file never replaces the
    running configuration, and the reload gauges say what happened either way.
    """

    def __init__(
        self, config_path: str | Path, max_concurrency: int = 1024, shard: Shard | None = None
    ) -> None:
        self.config_path = Path(config_path)
        self.max_concurrency = max_concurrency
        self.shard = shard
        self.metrics = ExporterMetrics()
        self.store = ResultStore()
        self.config: Config | None = None
        self._ctx: ProbeContext | None = None
        self._scheduler: Scheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self._reload_lock = asyncio.Lock()
        self._warming: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._task is not None and not self._task.done() and self.config is not None

    async def start(self, config: Config | None = None) -> None:
        """Start probing; ``config`` (already validated) saves reading the file again."""
        self._ctx = ProbeContext()
        ctx = self._ctx
        self._scheduler = Scheduler(
            probe=lambda target: run_probe(target, ctx),
            on_result=self.store.record,
            on_lag=self.metrics.scheduler_lag.observe,
            max_concurrency=self.max_concurrency,
            on_in_flight=self.metrics.in_flight.set,
        )
        self._apply(config if config is not None else load_config(self.config_path))
        self._task = asyncio.create_task(self._scheduler.run(), name="scheduler")

    async def stop(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
            self._warming = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._ctx is not None:
            await self._ctx.close()
            self._ctx = None

    def _apply(self, config: Config) -> None:
        """Schedule the config's targets (this shard's share of them, when sharded)."""
        assert self._scheduler is not None
        assert self._ctx is not None
        self._ctx.refresh_tls()  # CA, certificate and key files are read anew at every load
        targets = self.shard.select(config.targets) if self.shard else config.targets
        self.store.sync(targets)
        self._scheduler.set_targets(targets)
        if self._warming is None and any(getattr(t.spec, "assertions", ()) for t in targets):
            # CEL workers start now rather than within the first probe's timeout.
            evaluator = self._ctx.resource("cel", Evaluator)
            self._warming = asyncio.get_running_loop().create_task(evaluator.warm())
        self.metrics.set_targets(t.kind for t in targets)
        self.metrics.reload_ok.set(1)
        self.metrics.reload_time.set(time.time())
        self.config = config

    async def reload(self) -> ConfigError | None:
        """Reload the config file; returns the error when it was refused."""
        async with self._reload_lock:
            try:
                config = await asyncio.to_thread(load_config, self.config_path)
            except ConfigError as exc:
                self.metrics.reload_ok.set(0)
                log.error(
                    "config reload refused; keeping the running config",
                    extra={"file": str(self.config_path), "error": str(exc)},
                )
                return exc
            self._apply(config)
            log.info(
                "config reloaded",
                extra={"file": str(self.config_path), "targets": len(config.targets)},
            )
            return None

    def target(self, name: str) -> Target | None:
        return self.config.by_name.get(name) if self.config is not None else None

    async def probe_now(self, target: Target, timeout: float | None = None) -> ProbeResult:
        assert self._ctx is not None
        return await run_probe(target, self._ctx, timeout)
