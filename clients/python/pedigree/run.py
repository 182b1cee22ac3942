"""A run in progress: metrics are queued and sent by a background thread in
batches, so a training loop never waits on the network."""

import atexit
import collections
import datetime as _dt
import logging
import math
import threading
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Deque, List, Mapping, Optional, Tuple

from .errors import PedigreeError, PedigreeUnavailable
from .types import Run

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["ActiveRun"]

log = logging.getLogger("pedigree")

_Point = Tuple[str, float, Optional[int], float]  # key, value, step, unix time
_RETRY_DELAYS = (0.5, 1.0, 2.0)  # for an unreachable server; other errors are not retried


def _stamp(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ActiveRun:
    """A started run. Use it as a context manager: on exit the queued metrics are
    flushed and the run is marked FINISHED, or FAILED if the block raised (KILLED
    on KeyboardInterrupt); the exception propagates.

    Attributes:
        id: the run ID (run:…).
        info: the Run as startRun returned it.
        status: RUNNING until finish().
    """

    def __init__(self, client: "Client", info: Run, *, flush_interval: float = 1.0, batch_size: int = 1000,
                 max_queue: int = 100000) -> None:
        if not 1 <= batch_size <= 10000:
            raise ValueError("batch_size must be between 1 and 10000 (the server's limit per call)")
        self.client = client
        self.info = info
        self.id = info.id
        self.status = info.status or "RUNNING"
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_queue = max(max_queue, batch_size)
        self._queue: Deque[_Point] = collections.deque()
        self._cond = threading.Condition()
        self._inflight = 0
        self._flush_requested = False
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._errors: List[BaseException] = []
        self._sent = 0
        self._exit_hook = None

    def __repr__(self) -> str:
        return "ActiveRun(%r, status=%r)" % (self.id, self.status)

    # --- metrics --------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: Optional[int] = None, timestamp: Optional[float] = None) -> None:
        """Queues one metric point (timestamped now unless given as Unix seconds).
        Raises ValueError for NaN or infinity, which JSON cannot carry."""
        v = float(value)
        if not math.isfinite(v):
            raise ValueError("metric %r: %r is not a finite number (JSON cannot carry NaN or infinity)" % (key, value))
        if not isinstance(key, str) or not key:
            raise ValueError("metric key must be a non-empty string")
        point = (key, v, None if step is None else int(step), time.time() if timestamp is None else float(timestamp))
        with self._cond:
            self._raise_pending()
            if self._thread is None:
                self._start_thread()
            while len(self._queue) >= self.max_queue and self._thread.is_alive():
                self._cond.wait(1.0)  # backpressure: the network is slower than the loop
            self._queue.append(point)
            if len(self._queue) % self.batch_size == 0:
                self._cond.notify_all()

    def log_metrics(self, metrics: Mapping[str, float], step: Optional[int] = None, timestamp: Optional[float] = None) -> None:
        """Queues several metrics at one step."""
        t = time.time() if timestamp is None else timestamp
        for k, v in metrics.items():
            self.log_metric(k, v, step=step, timestamp=t)

    def flush(self) -> None:
        """Sends every queued point now and waits for it; raises the first error a batch met."""
        with self._cond:
            if self._thread is not None:
                self._flush_requested = True
                self._cond.notify_all()
                while (self._queue or self._inflight) and self._thread.is_alive():
                    self._cond.wait(0.5)
            self._raise_pending()

    @property
    def points_sent(self) -> int:
        """How many points the server has acknowledged."""
        return self._sent

    def _raise_pending(self) -> None:
        if self._errors:
            err = self._errors.pop(0)
            raise err

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="pedigree-metrics-" + self.id, daemon=True)
        self._thread.start()
        ref = weakref.ref(self)

        def at_exit() -> None:  # a script that never calls finish() still sends its metrics
            r = ref()
            if r is not None:
                try:
                    r.flush()
                except Exception as e:  # noqa: BLE001 - nothing left to raise to
                    log.warning("pedigree: flushing metrics of %s at exit: %s", r.id, e)

        self._exit_hook = at_exit
        atexit.register(at_exit)

    def _loop(self) -> None:
        last = time.monotonic()
        while True:
            with self._cond:
                while not (self._stopping or self._flush_requested or len(self._queue) >= self.batch_size):
                    remaining = last + self.flush_interval - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if not self._queue:
                    self._flush_requested = False
                    last = time.monotonic()
                    self._cond.notify_all()
                    if self._stopping:
                        return
                    continue
                n = min(len(self._queue), self.batch_size)
                batch = [self._queue.popleft() for _ in range(n)]
                self._inflight += 1
                self._cond.notify_all()  # room in the queue
            try:
                self._send(batch)
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                with self._cond:
                    self._errors.append(e)
                log.warning("pedigree: %d metric points of %s were not logged: %s", len(batch), self.id, e)
            finally:
                with self._cond:
                    self._inflight -= 1
                    if len(self._queue) < self.batch_size:
                        last = time.monotonic()
                    self._cond.notify_all()

    def _send(self, batch: List[_Point]) -> None:
        points = []
        for key, value, step, t in batch:
            p = {"key": key, "value": value, "timestamp": _stamp(t)}
            if step is not None:
                p["step"] = step
            points.append(p)
        for attempt in range(len(_RETRY_DELAYS) + 1):
            try:
                self._sent += self.client.log_metrics(self.id, points)
                return
            except PedigreeUnavailable:
                if attempt == len(_RETRY_DELAYS):
                    raise
                time.sleep(_RETRY_DELAYS[attempt])

    def _stop_thread(self) -> None:
        if self._thread is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()
        if self._exit_hook is not None:
            atexit.unregister(self._exit_hook)
            self._exit_hook = None

    # --- the rest of the run ----------------------------------------------------

    def log_param(self, key: str, value: Any) -> Run:
        return self.client.log_params(self.id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> Run:
        """Logs params (upsert)."""
        return self.client.log_params(self.id, params)

    def set_tag(self, key: str, value: Any) -> Run:
        return self.client.set_tags(self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> Run:
        """Sets tags (upsert)."""
        return self.client.set_tags(self.id, tags)

    def add_inputs(self, inputs: Any) -> Run:
        """Records inputs: a dict role → node(s), a list of nodes, or (node, role) pairs."""
        return self.client.add_inputs(self.id, inputs)

    def add_outputs(self, outputs: Any) -> Run:
        """Records nodes this run generated."""
        return self.client.add_outputs(self.id, outputs)

    def log_artifact(self, path: str, name: Optional[str] = None, *, type: Optional[str] = None, **kw: Any):
        """Uploads a file and registers it as an artifact generated by this run."""
        import os
        return self.client.register_artifact(name or os.path.basename(path), file=path, type=type, run=self.id, **kw)

    def register_model(self, model: str, artifact_uri: Optional[str] = None, **kw: Any):
        """Registers a model version generated by this run (file=path uploads it)."""
        return self.client.register_model_version(model, self.id, artifact_uri, **kw)

    def refresh(self) -> Run:
        """The run as the server has it now."""
        self.info = self.client.run(self.id)
        return self.info

    def finish(self, status: str = "FINISHED", *, compute: Optional[Mapping[str, Any]] = None) -> Run:
        """Flushes the queued metrics, stops the sender and finishes the run. If a
        batch failed the run is still finished, then the batch's error is raised."""
        err: Optional[BaseException] = None
        try:
            self.flush()
        except BaseException as e:  # noqa: BLE001 - finish first, raise after
            err = e
        self._stop_thread()
        self.info = self.client.finish_run(self.id, status, compute=compute)
        self.status = self.info.status
        if err is None and self._errors:
            err = self._errors.pop(0)
        if err is not None:
            raise err
        return self.info

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.finish("FINISHED")
            return False
        status = "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"
        try:
            self.finish(status)
        except PedigreeError as e:
            # The block's own exception matters more; say what else went wrong.
            warnings.warn("pedigree: while ending run %s as %s: %s" % (self.id, status, e))
        return False
