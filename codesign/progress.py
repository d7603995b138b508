"""Progress on the terminal for long commands: the step log as lines, and a rich progress bar (counts,
elapsed, time left) for every counted piece of work the log reports as `label N/M ...`, e.g.
`train: epoch 3/30 loss 0.41` or `train: float epoch 3/30 ...`.

The flow and its steps only call `log(message)`; they need not know about the terminal. On a
non-interactive console (CI, a pipe) rich draws no live bars and the log lines alone remain.
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


class StepProgress:
    """Context manager: `with StepProgress(console, "codesign flow") as p: run_flow(..., log=p.log)`."""

    def __init__(self, console: Console, title: str):
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("left"),
                                 TimeRemainingColumn(), console=console, transient=False)
        self.title = title
        self.tasks: dict[str, TaskID] = {}
        self.status: TaskID | None = None

    def __enter__(self) -> Self:
        self.progress.start()
        self.status = self.progress.add_task(self.title, total=None)
        return self

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.progress.remove_task(self.status)
        self.progress.stop()

    def log(self, message: str) -> None:
        self.progress.console.log(message, highlight=False, _stack_offset=2)  # the caller, not this line
        m = COUNTED.match(message)
        if m:
            label, done, total = m["label"], int(m["done"]), int(m["total"])
            if label not in self.tasks:
                self.tasks[label] = self.progress.add_task(label, total=total)
            self.progress.update(self.tasks[label], completed=done, total=total)
        elif self.status is not None:
            self.progress.update(self.status, description=f"{self.title}: {message[:60]}")
