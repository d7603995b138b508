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
        p.log("hls: C-sim equals the emulator on 397/397 test samples")  # a result line: no bar of its own
        assert not [t for t in p.progress.tasks if t.description.startswith("hls: C-sim equals")]  # only the status
    text = out.getvalue()
    assert "train: epoch 3/30 loss 0.3" in text and "3/30" in text  # the log line and the bar's M/N column
    assert "simulating 397 samples" in text


def test_advance_moves_the_active_bar_and_is_quiet_elsewhere():
    from codesign.progress import advance

    advance("hls: C-sim samples", 1, 2)  # no StepProgress active (API, notebooks): nothing happens
    out = io.StringIO()
    with StepProgress(Console(file=out, force_terminal=True, width=120), "codesign flow") as p:
        advance("hls: C-sim samples", 250, 397)
        advance("hls: C-sim samples", 397, 397)
        task = {t.description: t for t in p.progress.tasks}["hls: C-sim samples"]
        assert (task.completed, task.total) == (397, 397)
    assert "C-sim samples" in out.getvalue()
    advance("hls: C-sim samples", 1, 2)  # after the command: again nothing

    # not a terminal (CI, a pipe, pytest's capture): the log lines alone, no bar drawn
    plain = io.StringIO()
    with StepProgress(Console(file=plain, force_terminal=False, width=120), "codesign flow") as p:
        p.log("train: epoch 1/3 loss 0.5")
        advance("hls: C-sim samples", 100, 397)
    text = plain.getvalue()
    assert "train: epoch 1/3 loss 0.5" in text and "━" not in text and "C-sim samples" not in text


def test_flow_csim_runs_in_batches_that_move_its_bar():
    """The flow's C-sim (codesign.flow.csim_with_progress) on a stand-in view: every batch's outputs,
    in order, and the bar at each batch's end."""
    import numpy as np

    from codesign.flow import csim_with_progress

    class View:  # csim_int as HLSView has it: integers in, integers out
        def __init__(self):
            self.calls = []

        def csim_int(self, x, key=None):
            self.calls.append(len(x))
            return x * 3 + (key or 0)

    x = np.arange(1000).reshape(500, 2)
    seen = []
    with StepProgress(Console(file=io.StringIO(), force_terminal=True), "codesign flow") as p:
        orig = p.update
        p.update = lambda label, done, total: (seen.append((label, done, total)), orig(label, done, total))
        view = View()
        y = csim_with_progress(view, x, key=1, batch=200)
    assert np.array_equal(y, x * 3 + 1) and view.calls == [200, 200, 100]
    assert seen == [("hls: C-sim samples", d, 500) for d in (200, 400, 500)]
