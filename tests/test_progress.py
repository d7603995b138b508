"""The CLI's progress: log lines stay, and every `label N/M` message drives a bar with its counts."""
import io

from rich.console import Console

from codesign.progress import StepProgress


def test_counted_messages_drive_bars():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with StepProgress(console, "codesign flow") as p:
        p.log("data: digits 1400 train / 397 test")
        for e in (1, 2, 3):
            p.log(f"train: epoch {e}/30 loss 0.{e}")
        p.log("train: float epoch 1/30 loss 1.9")
        tasks = {t.description: t for t in p.progress.tasks}
        assert tasks["train: epoch"].total == 30 and tasks["train: epoch"].completed == 3
        assert tasks["train: float epoch"].completed == 1
        assert "codesign flow: data: digits 1400 train / 397 test" in tasks  # the status line: the last uncounted step
        p.log("rtl: folding [{'pe': 4, 'simd': 8}], simulating 397 samples")
    text = out.getvalue()
    assert "train: epoch 3/30 loss 0.3" in text and "3/30" in text  # the log line and the bar's M/N column
    assert "simulating 397 samples" in text
