"""Progress on the terminal for long commands: the step log as lines, and a rich progress bar (counts,
elapsed, time left) for every counted piece of work the log reports as `label N/M ...`, e.g.
`train: epoch 3/30 loss 0.41` or `train: float epoch 3/30 ...`.

The flow and its steps only call `log(message)`; they need not know about the terminal. Work that
would flood the log with a line per piece (C-sim batches, attack runs, faults on the RTL) calls
`advance(label, done, total)` instead: it moves a bar of the active `StepProgress` and is a no-op
when none is active (the Python API, notebooks, tests). On a non-interactive console (CI, a pipe,
pytest's capture) no bar is drawn at all and the log lines alone remain.
"""
from __future__ import annotations

import re
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

COUNTED = re.compile(r"^(?P<label>[A-Za-z][\w\- ]*?:(?: [A-Za-z][\w\-+ ]*?)?) (?P<done>\d+)/(?P<total>\d+)(?:\s|$)")


_ACTIVE: list[StepProgress] = []  # the innermost StepProgress entered (a stack: commands may nest)


def advance(label: str, done: int, total: int) -> None:
    """`done` of `total` pieces of `label` (e.g. "hls: C-sim samples") are finished: moves that bar of
    the active StepProgress; without one (API, notebooks, tests) nothing happens. Thread-safe."""
    if _ACTIVE:
        _ACTIVE[-1].update(label, done, total)


class StepProgress:
    """Context manager: `with StepProgress(console, "codesign flow") as p: run_flow(..., log=p.log)`.

    Bars are drawn only on an interactive terminal; elsewhere `log` prints the lines alone."""

    def __init__(self, console: Console, title: str):
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("left"),
                                 TimeRemainingColumn(), console=console, transient=False,
                                 disable=not console.is_terminal)
        self.title = title
        self.tasks: dict[str, TaskID] = {}
        self.status: TaskID | None = None

    def __enter__(self) -> Self:
        self.progress.start()
        self.status = self.progress.add_task(self.title, total=None)
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self.status is not None:
            self.progress.remove_task(self.status)
        self.progress.stop()

    def update(self, label: str, done: int, total: int) -> None:
        """Set the bar `label` to done/total (made on first use)."""
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[label], completed=done, total=total)

    def log(self, message: str) -> None:
        self.progress.console.log(message, highlight=False, _stack_offset=2)  # the caller, not this line
        m = COUNTED.match(message)
        if m and not m["label"].endswith(" on"):  # "... equals the emulator on 397/397": a result, not progress
            self.update(m["label"], int(m["done"]), int(m["total"]))
        elif self.status is not None:
            self.progress.update(self.status, description=f"{self.title}: {message[:60]}")
