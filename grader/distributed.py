"""Grading on a Dask cluster, when one machine is not enough (``--executor dask``).

Each submission is one task: its files travel with it (zipped, so that the workers need no
shared storage), a worker unpacks them into a private folder, grades the submission in its
sandbox exactly as ``labgrade grade`` does on one machine, and sends back the ``result.json``
and the figures.  Everything else stays on the client: discovery, the resume keys, writing the
results atomically, the reports, the gradebook and the overview.  The grades are the same
whichever machine graded them (every random draw is seeded from the grading seed).

Workers need labgrade installed, in the version the client runs (a result says which grader
graded it), and the same isolation as the TA's machine (root and ``unshare`` for namespaces).
The optional extra ``labgrade[dask]`` installs ``dask.distributed``.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from grader.rubric import Rubric
from grader.settings import SandboxSettings

if TYPE_CHECKING:
    from grader.batch import _Outcome, _Task


class ExecutorError(Exception):
    """The cluster cannot be used: said to the TA in one sentence, before anything is graded."""


@dataclass(frozen=True)
class GradeJob:
    """What every task of the batch is graded with."""

    rubric: Rubric
    seed: int
    sandbox: SandboxSettings
    self_check: bool


def pack(root: Path) -> bytes:
    """The submission's files, zipped (paths relative to its folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def grade_packed(sub: Any, packed: bytes, job: GradeJob) -> tuple[dict, list[bytes], str | None]:
    """On a worker: unpack the submission into a private folder and grade it there."""
    from grader.batch import _grade_safely

    with tempfile.TemporaryDirectory(prefix="labgrade-worker-") as work:
        root = Path(work) / "submission"
        with zipfile.ZipFile(io.BytesIO(packed)) as archive:
            archive.extractall(root)  # written by pack() from the client's own copy
        outcome = _grade_safely(replace(sub, root=root), job.rubric, seed=job.seed,
                                sandbox=job.sandbox, self_check=job.self_check)
    return outcome.result, outcome.figures, outcome.grader_failure


class DaskExecutor:
    """Runs a batch's tasks on a Dask cluster: the scheduler at ``scheduler``, or, without
    one, a cluster of ``workers`` local processes started for the batch."""

    def __init__(self, scheduler: str | None = None, workers: int = 2,
                 connect_timeout: float = 30.0) -> None:
        self.scheduler, self.workers = scheduler, workers
        self.connect_timeout = connect_timeout

    def _client(self) -> Any:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError("--executor dask needs dask.distributed: pip install "
                                "'labgrade[dask]'") from None
        if self.scheduler:
            try:
                return Client(self.scheduler, timeout=f"{self.connect_timeout:g}s")
            except (OSError, TimeoutError, ValueError) as err:
                raise ExecutorError(f"cannot reach the Dask scheduler at {self.scheduler}: "
                                    f"{err}") from None
        cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)

    def run_all(self, tasks: list["_Task"], job: GradeJob, *,
                started: Callable[["_Task"], None],
                finished: Callable[["_Task", "_Outcome"], None]) -> None:
        """Grade every task on the cluster, handing each outcome to ``finished`` (in this
        thread) as soon as it is back; a task the cluster loses is that submission's grader
        failure, never a lost grade."""
        from distributed import as_completed

        from grader.batch import _Outcome, grader_failure_result

        client = self._client()
        futures: dict[Any, "_Task"] = {}
        try:
            for task in tasks:
                started(task)
                future = client.submit(grade_packed, task.sub, pack(task.sub.root), job,
                                       pure=False, key=f"labgrade-{task.sub.key}-{task.index}")
                futures[future] = task
            for future in as_completed(list(futures)):
                task = futures[future]
                try:
                    outcome = _Outcome(*future.result())
                except Exception as err:  # the worker died, or the cluster lost the task
                    import traceback

                    result = grader_failure_result(task.sub, job.rubric, err,
                                                   sandbox=job.sandbox,
                                                   self_check=job.self_check, duration_s=0.0)
                    outcome = _Outcome(result, [], traceback.format_exc())
                finished(task, outcome)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            raise
        finally:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None and not self.scheduler:
                cluster.close()
