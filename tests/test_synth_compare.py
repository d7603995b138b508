"""bench/synth_compare.py and bench/flow_time.py bookkeeping: the before/after resource difference,
the board-capacity check, the RTL step side by side, and a bad design named in one line (exit 2)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import flow_time
    import synth_compare

    return synth_compare, flow_time


def test_resource_diff_percent_per_resource(bench):
    sc, _ = bench
    d = sc.resource_diff({"LUT": 200, "FF": 50, "DSP": 0, "BRAM36": 1.5},
                         {"LUT": 194, "FF": 50, "DSP": 2, "BRAM36": 1.0})
    assert d["LUT"] == {"before": 200, "after": 194, "delta": -6, "pct": -3.0}
    assert d["FF"]["pct"] == 0.0
    assert d["DSP"]["pct"] is None and d["DSP"]["delta"] == 2  # no percentage of zero
    assert d["BRAM36"]["pct"] == -33.33


def test_board_fit_against_the_catalogue(bench):
    sc, _ = bench
    cap = json.loads((ROOT / "boards" / "boards.json").read_text())["pynq-z2"]["capacity"]
    full = {"LUT": cap["LUT"], "FF": 10, "DSP": 0, "BRAM36": 0}
    f = sc.board_fit(full, "pynq-z2")
    assert f["fits"] and f["binding"] == "LUT" and f["fraction"]["LUT"] == 1.0
    over = sc.board_fit(dict(full, LUT=10, BRAM36=cap["BRAM36"] + 0.5), "pynq-z2")
    assert not over["fits"] and over["binding"] == "BRAM36"


def test_cell_diff_lists_changed_cells_largest_first(bench):
    sc, _ = bench
    d = sc.cell_diff({"LUT6": 100, "FDRE": 10, "CARRY4": 5}, {"LUT6": 90, "FDRE": 10, "LUT2": 30})
    assert list(d) == ["LUT2", "LUT6", "CARRY4"]
    assert d["CARRY4"] == [5, 0]


def test_side_by_side_projects_a_capped_cocotb_run(bench):
    _, ft = bench
    row = {"flow": {"steps_s": {"rtl": 80.0, "rtl_parts": {"cocotb": 40.0, "harness_run": 2.0, "yosys": 70.0}}},
           "previous_rtl": {"cocotb": {"wall_s": 30.0, "samples": 500, "all_samples_projected_s": 130.0},
                            "yosys_flat": {"wall_s": 300.0}}}
    s = ft.side_by_side(row)
    assert s["now"] == {"rtl_step_s": 80.0, "sim_s": 42.0, "yosys_s": 70.0}
    assert s["before"] == {"sim_s": 130.0, "sim": "projected from a measured cocotb run of 500", "yosys_s": 300.0,
                           "rtl_step_s": 430.0}
    del row["previous_rtl"]["yosys_flat"]
    assert ft.side_by_side(row)["before"]["rtl_step_s"] is None  # flat yosys left to synth_compare
    del row["previous_rtl"]  # projected from the flow's own cocotb sample: 40 s for 256, 1744 more at 8/s
    row["flow"].update(bit_exact={"rtl_samples": 2000, "rtl_samples_cocotb": 256},
                       throughput={"sim_inferences_per_s_cocotb": 8.0})
    before = ft.side_by_side(row)["before"]
    assert before["sim_s"] == 258.0 and before["sim"].startswith("projected from the flow's cocotb sample of 256 ")
    assert before["yosys_s"] is None and before["rtl_step_s"] is None


def test_synth_compare_refuses_a_run_without_rtl(bench, tmp_path, monkeypatch, capsys):
    sc, _ = bench
    out = tmp_path / "out.json"
    monkeypatch.setattr(sys, "argv", ["synth_compare.py", "--runs", str(tmp_path), "--compare", "mnist_mlp",
                                      "--out", str(out)])
    with pytest.raises(SystemExit) as e:
        sc.main()
    assert e.value.code == 2 and not out.exists()
    assert "no generated RTL" in capsys.readouterr().err


def test_yosys_log_times_reads_the_closing_lines(bench):
    sc, _ = bench
    log = ("19. Executing OPT_CLEAN pass\nEnd of script. Logfile hash: 3ec98b146c, time: 967.58s, user: 967.61s, "
           "system: 0.00s\nYosys 0.70\nTime spent: 18% 12x techmap (181 sec), 13% 44x opt_clean (131 sec), ...\n")
    t = sc.yosys_log_times(log)
    assert (t["yosys_time_s"], t["yosys_user_s"]) == (967.58, 967.61)
    assert t["passes"] == [{"pass": "techmap", "calls": 12, "pct": 18, "s": 181},
                           {"pass": "opt_clean", "calls": 44, "pct": 13, "s": 131}]
    assert sc.yosys_log_times("killed half way") == {}


def test_flow_time_reuse_keeps_a_runs_own_timing_and_adds_board_fit(bench, tmp_path, monkeypatch, capsys):
    _, ft = bench
    run = tmp_path / "runs" / "mnist_mlp"
    run.mkdir(parents=True)
    res = {"board": "pynq-z2", "LUT": 13841, "FF": 6983, "DSP": 3, "BRAM36": 13.5, "fits": True}
    steps = {"train": 41.2, "rtl": 81.0, "rtl_parts": {"cocotb": 78.9, "harness_run": 1.9, "yosys": 80.8}}
    (run / "report.json").write_text(json.dumps({"timing_s": steps, "resources": res}))
    out = tmp_path / "flow_time.json"
    timed = {"wall_s": 144.5, "cpu_s": 234.4, "command": f"codesign flow mnist_mlp.yaml --out {run}",
             "steps_s": steps, "resources": res}
    out.write_text(json.dumps({"examples": {"mnist_mlp": {"flow": timed}}}))
    monkeypatch.setattr(sys, "argv", ["flow_time.py", "--examples", "mnist_mlp", "--reuse", "--no-previous",
                                      "--runs", str(tmp_path / "runs"), "--out", str(out)])
    ft.main()
    row = json.loads(out.read_text())["examples"]["mnist_mlp"]
    assert row["flow"] == timed  # the run's wall/CPU/load kept, not just its report
    assert row["rtl_side_by_side"] == {"now": {"rtl_step_s": 81.0, "sim_s": 80.8, "yosys_s": 80.8}}
    assert row["board_fit"]["fits"] and row["board_fit"]["fraction"]["LUT"] == round(13841 / 53200, 4)
