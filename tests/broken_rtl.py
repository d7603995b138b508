"""Generated tops broken on purpose at their AXI-Stream output, to prove the benches fail on it.

Each edit rewrites the output assignments a generated top (codesign.rtl.generate) ends with:
    assign m_axis_tvalid = lN_out_tvalid;
    assign lN_out_tready = m_axis_tready;
    assign m_axis_tlast = lN_out_tlast;
`patched_cli` runs the `codesign` command in a subprocess whose RTL generator applies one edit after
writing the top, so the flow and `codesign sim` simulate a design with that protocol error.
"""
from __future__ import annotations

import re
from pathlib import Path

from conftest import codesign


def _assign(text: str, lhs: str) -> tuple[str, str]:
    m = re.search(rf"^    assign {lhs} = (\w+);$", text, re.M)
    assert m, f"no `assign {lhs} = ...;` in the generated top"
    return m.group(0), m.group(1)


def misplace_tlast(text: str) -> str:
    """tlast raised on every beat but a sample's last."""
    line, src = _assign(text, "m_axis_tlast")
    return text.replace(line, f"    assign m_axis_tlast = !{src};")


def lose_first_beat(text: str) -> str:
    """The engine's first output beat is consumed but never offered (one beat lost)."""
    line_v, src_v = _assign(text, "m_axis_tvalid")
    ready = re.search(r"^    assign (\w+_out_tready) = m_axis_tready;$", text, re.M)
    assert ready, "no output tready assignment in the generated top"
    drop = ("    logic brk_drop;\n"
            f"    always_ff @(posedge clk) if (rst) brk_drop <= 1'b1; else if ({src_v}) brk_drop <= 1'b0;\n")
    text = text.replace(line_v, drop + f"    assign m_axis_tvalid = {src_v} && !brk_drop;")
    return text.replace(ready.group(0), f"    assign {ready.group(1)} = m_axis_tready || brk_drop;")


def send_every_beat_twice(text: str) -> str:
    """Each output beat is transferred twice (extra beats, and tlast then out of place)."""
    ready = re.search(r"^    assign (\w+_out_tready) = m_axis_tready;$", text, re.M)
    assert ready, "no output tready assignment in the generated top"
    twice = ("    logic brk_again;\n"
             "    always_ff @(posedge clk) if (rst) brk_again <= 1'b0; "
             "else if (m_axis_tvalid && m_axis_tready) brk_again <= !brk_again;\n")
    return text.replace(ready.group(0), twice + f"    assign {ready.group(1)} = m_axis_tready && brk_again;")


def never_valid(text: str) -> str:
    """No output beat ever (a hang)."""
    line, _ = _assign(text, "m_axis_tvalid")
    return text.replace(line, "    assign m_axis_tvalid = 1'b0;")


def break_top(rtl_dir: Path, edit, top: str = "model_top") -> None:
    path = Path(rtl_dir) / f"{top}.sv"
    path.write_text(edit(path.read_text()))


_LAUNCH = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import broken_rtl
import codesign.rtl as rtl
original = rtl.generate
def generate(spec, out_dir, *a, **kw):
    meta = original(spec, out_dir, *a, **kw)
    broken_rtl.break_top(out_dir, getattr(broken_rtl, {edit!r}), kw.get("top", "model_top"))
    return meta
rtl.generate = generate
from codesign.cli import app
sys.argv = ["codesign"] + sys.argv[1:]
app()
"""


def patched_cli(edit: str, *args, **kw):
    """`codesign *args` in a subprocess whose generated top gets broken_rtl.<edit> applied."""
    code = _LAUNCH.format(tests=str(Path(__file__).resolve().parent), edit=edit)
    return codesign(*args, check=False, launcher=["-c", code], **kw)
