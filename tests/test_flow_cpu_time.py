"""report.json `timing_s.cpu_s`: CPU seconds per flow step beside the wall seconds (bench/flow_time.py
reads both; on a shared machine wall time depends on the load, CPU time much less)."""


def test_flow_reports_cpu_seconds_per_step(digits_run):
    out, report = digits_run
    t = report["timing_s"]
    cpu = t["cpu_s"]
    steps = [k for k, v in t.items() if k not in ("total", "cpu_s") and isinstance(v, (int, float))]
    assert set(steps) <= set(cpu) and "total" in cpu
    assert all(cpu[k] >= 0 for k in steps)
    assert cpu["train"] > 0.5  # five epochs of training cost real CPU time
    # the steps' CPU adds up to the whole flow's (rounding only)
    assert abs(sum(cpu[k] for k in steps) - cpu["total"]) < 0.05 * len(steps)
    # the report's wall-time table gains a CPU column (no raw dict in the page)
    md = (out / "report.md").read_text()
    from codesign.report import fmt

    assert "| step | seconds | CPU seconds |" in md
    assert f"| train | {fmt(t['train'])} | {fmt(cpu['train'])} |" in md
