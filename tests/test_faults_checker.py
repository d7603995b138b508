"""The optional RTL weight-memory checker (rtl.checker: true; codesign/rtl/checker.py, rtl/wmem_check.sv):
its cocotb unit bench, a flow run of the digits example with the checker on, and its alarms in the RTL
detection campaign against the software model fault for fault."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import EXAMPLES, codesign

from codesign.rtl import toolchain
from codesign.rtl.checker import fold_words
from codesign.paths import ip_dir


def _faults(rng, depth, dw, ck_w):
    """Single flips, pairs in different groups, and pairs in the same group and bit plane (they cancel)."""
    out = [[(int(rng.integers(depth)), int(rng.integers(dw)))] for _ in range(16)]
    for _ in range(8):
        a, b = rng.choice(depth, 2, replace=False)
        j = int(rng.integers(ck_w))
        out.append([(int(a), j), (int(b), (j + 1 + int(rng.integers(ck_w - 1))) % ck_w)])
    for k in range(8):  # the same bit plane of one group: two words, or one word's two chunks
        a, b = (int(v) for v in rng.choice(depth, 2, replace=False))
        j = int(rng.integers(dw - ck_w))
        out.append([(a, j), (b, j)] if k % 2 else [(a, j), (a, j + ck_w)])
    return out


def test_wmem_check_bench(tmp_path):
    """rtl/wmem_check.sv alone (40-bit words, 16 groups, 37 words in a 64-word array): fault-free scans
    never alarm (also with same-value load-port writes stalling the scan), a flip written mid-scan
    alarms within two scan periods, after a reset within one, a restored word clears after a reset,
    port A reads stay correct throughout, and over single flips, pairs in different groups and
    cancelling pairs the alarm equals fold_words(faulty) != golden."""
    dw, depth, aw, ck_w = 40, 37, 6, 16
    rng = np.random.default_rng(3)
    words = [int(rng.integers(0, 1 << 40)) for _ in range(depth)]
    gold = fold_words(words, ck_w)
    (tmp_path / "ck.mem").write_text("".join(f"{w:010x}\n" for w in words))
    (tmp_path / "wmem_check.sv").write_bytes((ip_dir("rtl") / "wmem_check.sv").read_bytes())
    (tmp_path / "ck_tb.sv").write_text(
        "module ck_tb (input logic clk, input logic rst, input logic re, input logic [5:0] raddr,\n"
        "    output logic [39:0] rdata, input logic we, input logic [5:0] waddr, input logic [39:0] wdata,\n"
        "    output logic alarm);\n"
        f"    wmem_check #(.DW({dw}), .DEPTH({depth}), .AW({aw}), .INIT(\"ck.mem\"), .CK_W({ck_w}), "
        f".GOLD({ck_w}'h{gold:x})) u (.*);\nendmodule\n")
    faults = _faults(rng, depth, dw, ck_w)
    expect = []
    for f in faults:
        w = list(words)
        for a, b in f:
            w[a] ^= 1 << b
        expect.append(fold_words(w, ck_w) != gold)
    assert any(expect) and not all(expect)  # the cancelling pairs are there
    job = {"words": [f"{w:x}" for w in words], "depth": depth, "dw": dw, "faults": faults,
           "stats": str(tmp_path / "stats.json")}
    (tmp_path / "job.json").write_text(json.dumps(job))
    build = toolchain.build([tmp_path / "wmem_check.sv", tmp_path / "ck_tb.sv"], "ck_tb", tmp_path / "build", opt="quick")
    toolchain.run_test("ck_tb", build, "test_wmem_check", tmp_path, {"CODESIGN_SIM_JOB": str(tmp_path / "job.json")},
                       tmp_path / "sim.log")
    st = json.loads((tmp_path / "stats.json").read_text())
    assert st["port_a_errors"] == 0
    assert st["clean_alarm_cycle"] == 0 and st["restored_alarm_cycle"] == 0 and st["after_faults_alarm_cycle"] == 0
    assert st["flip_after_write_cycles"] is not None and 0 < st["flip_after_write_cycles"] <= 2 * depth + 3
    assert 0 < st["flip_after_reset_cycles"] <= depth + 3
    assert st["fault_alarms"] == expect
