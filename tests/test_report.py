"""report.md and report.html of real runs (the digits example with RTL, the MNIST MLP with C-sim and RTL;
the digits run with yosys in tests/test_flow_small.py, the CNN in tests/test_flow_cnn.py), and the layouts of the sections other steps write (faults, lock, timing), checked on a real
run's report with those sections added in the shape DESIGN.md section 4 fixes."""
import copy
import json

import pytest
from report_checks import check_report_html, check_report_in_chromium


def test_digits_report_renders_every_section(digits_run):
    out, report = digits_run
    sections = check_report_html(out, expect_figures=("throughput", "compression"))
    assert {"accuracy", "bit_exact", "throughput", "compression"} <= set(sections)
    # per-layer engine figures come from the RTL plan: cycles, MAC bound and utilization of each engine
    layers = report["throughput"]["layers"]
    assert list(layers) == [n for n in report["compression"]["layers"]]
    for name, l in layers.items():
        assert l["lanes"] == l["pe"] * l["simd"] and l["bound_cycles"] == pytest.approx(l["macs"] / l["lanes"])
        assert l["cycles"] <= report["throughput"]["cycles_per_inference"], (name, l)
        assert 0 < l["mac_utilization"] <= 1  # dense engines only here (a maxpool has null)
    md = (out / "report.md").read_text()
    for fig in ("throughput_layers.png", "compression_bits.png"):
        assert f"](plots/{fig})" in md and (out / "plots" / fig).stat().st_size > 5000
    # the summary states the agreement from report.json's numbers
    assert "all integers equal: rtl 64/64" in md
    # wall time: the steps that ran, a step's own breakdown as its own table; a step that did not run is absent
    assert report["timing_s"]["robustness"] == 0 and "| robustness |" not in md
    assert "| rtl | " in md and "where the rtl step's time went" in md


def test_mlp_report_renders_views_and_compression(mlp_run):
    out, report = mlp_run
    check_report_html(out, expect_figures=("compression", "throughput"))
    md = (out / "report.md").read_text()
    n = report["bit_exact"]["samples"]
    assert f"| emulator = csim | {n:,} / {n:,} | 100.00% | yes |" in md
    # stored bits vs float32 per layer: the float32 column is 32 bits per parameter of the spec
    for name, layer in report["compression"]["layers"].items():
        assert layer["float32_bits"] % 32 == 0 and layer["float32_bits"] > layer["weight_bits"], (name, layer)


def test_mlp_report_renders_in_chromium(mlp_run, tmp_path):
    check_report_in_chromium(mlp_run[0], tmp_path, "mnist_mlp")


def test_chromium_check_catches_a_page_that_does_not_render(digits_run, tmp_path):
    """The browser check fails a page whose figure is broken or blank, whose section is empty or whose summary
    is gone, naming each: the digits run's own report.html, damaged four ways, drawn once."""
    import base64
    import io
    import re
    import shutil

    from PIL import Image

    from codesign.report_browser import find_chromium, problems, render

    if not find_chromium():
        pytest.skip("no chromium binary on PATH (Debian: apt-get install chromium)")
    out, report = digits_run
    html = (out / "report.html").read_text()
    i = html.index("data:image/png;base64,") + len("data:image/png;base64,")
    html = html[:i] + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAD" + html[i + 400:]  # a truncated PNG
    white = io.BytesIO()
    Image.new("RGB", (600, 300), "white").save(white, "PNG")  # decodes, draws nothing
    j = html.index("data:image/png;base64,", i) + len("data:image/png;base64,")
    html = html[:j] + base64.b64encode(white.getvalue()).decode() + html[html.index('"', j):]
    html, n = re.subn(r'(<section id="accuracy">\s*<h2>[^<]*</h2>).*?(</section>)', r"\1\2", html, flags=re.DOTALL)
    assert n == 1
    html, n = re.subn(r'<section id="summary">.*?</section>', "", html, flags=re.DOTALL)
    assert n == 1
    (tmp_path / "report.html").write_text(html)
    shutil.copy(out / "report.json", tmp_path / "report.json")
    found = problems(render(tmp_path / "report.html", tmp_path / "broken.png"), report)
    assert any(p.startswith("section 'summary' is not on the page") for p in found), found
    assert any(p.startswith("section 'accuracy' is empty on screen") for p in found), found
    assert any(p.startswith("figure 1 ") and p.endswith("is broken: the browser could not decode it") for p in found), found
    assert any(p.startswith("figure 2 ") and p.endswith("is blank on screen") for p in found), found
    assert len(found) == 4, found  # the undamaged sections and figures pass


def _contract_sections() -> dict:
    """faults / lock / timing shaped as DESIGN.md section 4 and issues 14/15 fix them (numbers made up: the
    steps that measure them are not part of this test), plus a section no layout knows."""
    return {
        "timing": {"fmax_mhz": 142.3, "target_mhz": 100.0, "part": "xc7z020clg400-1", "tool": "vivado 2023.2",
                   "met": True},
        "faults": {"campaign": "random", "faults": 5000, "seconds": 0.8, "faults_per_s": 6250.0,
                   "naive_faults_per_s": 90.0, "speedup": 69.4,
                   "accuracy_drop": {"mean": 0.004, "max": 0.31, "harmful_fraction": 0.02},
                   "rtl": {"faults": 50, "equal_fraction": 1.0, "faults_per_s": 55.0, "samples_per_fault": 100},
                   "bfa": {"flips_mean": 9.2, "flips_std": 1.3, "seeds": 5, "random_flips_accuracy": 0.93},
                   "detection": {"rate": 1.0, "harmful_rate": 1.0, "bfa_rate": 0.999, "false_alarms": 0,
                                 "clean_inferences": 10000, "overhead": {"LUT": 310, "FF": 120}}},
        "lock": {"layers": ["dense_1"], "neurons": 16, "key_bits": 16, "accuracy_unlocked": 0.95,
                 "accuracy_with_key": 0.948, "accuracy_without_key": 0.1, "accuracy_random_key_best": 0.2,
                 "accuracy_random_key_mean": 0.11, "head_start": {"0.01": 2.0, "0.1": 5.5},
                 "attacks": {"fine_tune": 0.4}, "overhead": {"cycles_per_inference": 0, "LUT": 40, "FF": 16}},
        "brand_new_step": {"widgets": 3, "detail": {"a": 0.5}},
    }


def test_contract_sections_render_with_their_figures(digits_run, tmp_path):
    from codesign.report import write_reports

    _, report = digits_run
    extended = copy.deepcopy(report)
    extended.update(_contract_sections())
    write_reports(extended, tmp_path, {"name": "digits", "data": {"dataset": "digits"}, "board": "pynq-z2"})
    assert json.loads((tmp_path / "report.json").read_text()) == extended  # rendering changes no number
    sections = check_report_html(tmp_path, expect_figures=("lock", "throughput"))
    assert sections["faults"]["rows"] >= 10  # the campaign draws its own figures (tests/test_faults.py)
    assert sections["brand_new_step"]["rows"] >= 3  # a section without a layout still shows, as key/value rows
    md = (tmp_path / "report.md").read_text()
    assert "Fmax 142.3 MHz against a target of 100.0 MHz on xc7z020clg400-1 (vivado 2023.2): met." in md
    assert "| overhead.LUT | 310 |" in md and "| fine_tune | 0.4 |" in md
    # a failed check is a warning on the page, not a quiet number
    bad = copy.deepcopy(extended)
    bad["timing"]["met"] = False
    bad["bit_exact"]["emulator_vs_rtl"] = 0.5
    write_reports(bad, tmp_path, {"name": "digits", "data": {"dataset": "digits"}, "board": "pynq-z2"})
    html = (tmp_path / "report.html").read_text()
    assert "timing not met" in html and "rtl: 50.00% of the samples differ from the emulator" in html
    assert "MISMATCH" in html


def test_fault_campaigns_render_their_figures_in_the_report(tmp_path):
    """A real exhaustive and BFA campaign on a small random design (no training): report.html's faults
    section holds the sensitivity map and the accuracy-vs-flips curves, captioned, and the summary
    states the campaign and the attack from report.json's numbers."""
    import yaml
    from conftest import EXAMPLES

    from codesign.faults.campaign import run_campaign
    from codesign.report import STEP_PLOT_CAPTIONS, fmt
    from codesign.rtl.random_spec import random_mlp

    run = tmp_path / "run"
    random_mlp(3, [64, 16, 10], ternary=True, shift=True).save(run / "spec")
    (run / "config.yaml").write_text(yaml.safe_dump(yaml.safe_load((EXAMPLES / "digits_mlp.yaml").read_text())))
    (run / "report.json").write_text("{}")
    run_campaign(run, "exhaustive", log=lambda m: None)
    run_campaign(run, "bfa", seeds=1, max_flips=3, log=lambda m: None)
    report = json.loads((run / "report.json").read_text())
    sections = check_report_html(run, expect_figures=("faults",))
    assert sections["faults"]["images"] == 2
    html = (run / "report.html").read_text()
    for png in ("faults_sensitivity.png", "faults_accuracy_vs_flips.png"):
        assert STEP_PLOT_CAPTIONS[png] in html
    f = report["faults"]
    assert f"{f['faults']:,} faults (exhaustive)" in html and f"{fmt(f['bfa']['flips_mean'])} flips on average" in html


def test_drawing_a_report_leaves_the_matplotlib_backend_alone(tmp_path):
    """report.html is often written inside a notebook (run_flow, a fault campaign): its figures must not
    switch the notebook's inline backend to Agg, or the notebook's own plots stop showing."""
    import matplotlib

    from codesign import report_plots
    from codesign.report import write_reports
    from codesign.robustness import plot

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # any backend but Agg stands for the notebook's
    try:
        report = {"compression": {"weight_bits": 100, "baseline_weight_bits": 3200, "ratio": 32.0, "baseline": "float32",
                                  "layers": {"d1": {"kind": "dense", "weight_bits": 100, "float32_bits": 3200}}},
                  "timing_s": {"train": 3.0, "total": 3.0}}
        write_reports(report, tmp_path, {"name": "t", "data": {"dataset": "digits"}, "board": "pynq-z2"})
        plot({"stq": {"clean_accuracy": 0.9, "pgd": {"0.1": 0.5}}}, tmp_path / "plots" / "robustness.png")
        assert report_plots.curve("c", {"0.1": 1.0, "0.2": 2.0}, "x", "y")[:4] == b"\x89PNG"
        assert matplotlib.get_backend() == "svg"
        assert (tmp_path / "plots" / "compression_bits.png").stat().st_size > 5000
        assert (tmp_path / "plots" / "robustness.png").stat().st_size > 5000
    finally:
        matplotlib.use(before)


def test_summary_quotes_each_variants_worst_case(digits_run, tmp_path):
    """The summary on top names the robust figure to quote (worst case at the largest ε), per variant,
    and the robustness figure wraps its panels (at most four a row) so a page can show them."""
    from PIL import Image

    from codesign.report import write_reports
    from codesign.robustness import plot

    _, report = digits_run
    extended = copy.deepcopy(report)
    extended["robustness"] = {
        "float_jr": {"size_kb": 9.0, "clean_accuracy": 0.95, "fgsm": {"0.05": 0.9, "0.1": 0.8},
                     "pgd": {"0.05": 0.85, "0.1": 0.71}, "apgd_ce": {"0.1": 0.7}, "apgd_dlr": {"0.1": 0.69},
                     "square": {"0.1": 0.72}, "worst_case": {"0.05": 0.84, "0.1": 0.675}},
        "stq_jr": {"size_kb": 0.6, "clean_accuracy": 0.94, "pgd": {"0.05": 0.8, "0.1": 0.7},
                   "worst_case": {"0.05": 0.79, "0.1": 0.6425}},
    }
    plot(extended["robustness"], tmp_path / "plots" / "robustness.png")
    write_reports(extended, tmp_path, {"name": "digits", "data": {"dataset": "digits"}, "board": "pynq-z2"})
    md = (tmp_path / "report.md").read_text()
    assert "float_jr 0.675 at ε=0.1 · stq_jr 0.6425 at ε=0.1" in md, md[:2000]
    width, height = Image.open(tmp_path / "plots" / "robustness.png").size
    assert width < 3 * height  # six panels in two rows of at most four (one strip of six: 6.75 wide for 1 high)
