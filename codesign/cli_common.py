"""What every command group of the CLI shares (codesign/cli.py and the techniques' own, e.g.
codesign/techniques/lock/cli.py): the stderr console, quiet TensorFlow, and the one-line user error with exit 2.

Its own module so a technique's commands need not import the main CLI that registers them.
"""
from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

console = Console(stderr=True)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    warnings.filterwarnings("ignore")


def _user_errors():
    from .errors import CodesignError
    from .fixed import FixedTypeError
    from .spec import SpecError

    return (CodesignError, SpecError, FixedTypeError)


def _fail(e: Exception) -> None:
    """One line on any terminal (rich would wrap it at the terminal's width), exit code 2."""
    sys.stderr.write("error: " + " ".join(str(e).split()) + "\n")
    sys.stderr.flush()
    raise typer.Exit(2)
