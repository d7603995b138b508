"""The CNN example through `codesign flow`: conv + pooling layers in the spec, emulator, hls4ml C-sim and
the RTL view (swg + mvau conv engines, maxpool engines): every output integer of all 2,000 test digits on
the C++ harness and of 200 under cocotb with random stalls (-O0 model: the -O2 build of this design alone
takes ~3.5 min on 2 busy cores); a conv weight bit flipped through the load port of that build."""
import json

import numpy as np
import pytest

from codesign.config import load_config
from codesign.data import load_dataset
from codesign.emulator import Emulator
from codesign.rtl import RTLError, load_writes, read_meta, run
from codesign.spec import DesignSpec
from conftest import codesign, example_config
from report_checks import check_report_in_chromium
from worst_case import assert_accumulators_hold

COCOTB_SAMPLES = 200  # with random stalls under cocotb; the C++ harness runs all 2,000


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory, mnist_folder):
    tmp = tmp_path_factory.mktemp("cnn")
    out = tmp / "cnn"
    # no float32 twin: nothing here asserts it, and it would double the training time
    codesign("flow", example_config(tmp, "mnist_cnn.yaml", rtl={"cocotb_samples": COCOTB_SAMPLES, "synth": False, "opt": "quick"},
                                    baseline={"float": False}), "--out", out)
    return out, json.loads((out / "report.json").read_text())


def _keras_macs(model_dir) -> int:
    """Multiply-accumulates per image from the trained Keras model's own layer shapes."""
    from codesign.models import load_model

    total = 0
    for layer in load_model(model_dir).layers:
        kind = type(layer).__name__
        if "Conv2D" in kind:
            oh, ow, cout = layer.output_shape[1:]
            kh, kw = layer.kernel_size
            total += oh * ow * kh * kw * layer.input_shape[-1] * cout
        elif "Dense" in kind:
            total += layer.input_shape[-1] * layer.output_shape[-1]
    return total


def _check_rtl(out, report, samples: int) -> None:
    be, thr = report["bit_exact"], report["throughput"]
    assert be["rtl_samples"] == samples and be["emulator_vs_rtl"] == 1.0, be
    assert abs(report["accuracy"]["rtl"] - report["accuracy"]["emulator"]) <= 0.05
    meta = read_meta(out / "rtl")
    assert [l["kind"] for l in meta["layers"]] == ["conv", "pool", "conv", "pool", "dense"]
    # examples/mnist_cnn.yaml's target: every engine within 784 cycles; the chooser balances them at 726 (the
    # second conv's 121 windows x 6 passes; its window generator's output FIFO hides the rows it walks between
    # images) with the first conv's window generator taking 4 pixels a beat (one window a beat, 690 cycles),
    # and the chain runs at that rate
    assert meta["slowest_layer_cycles"] == 726 and thr["cycles_per_inference"] == 726, thr
    assert meta["folding"][0].get("pp") == 4 and meta["in_beat"] == 4
    # MACs counted here from the Keras model's layer shapes, lanes from the folding the top was built with
    macs = _keras_macs(out / "model")
    assert macs == 26 * 26 * 9 * 16 + 11 * 11 * 9 * 16 * 16 + 5 * 5 * 16 * 10  # examples/mnist_cnn.yaml by hand
    lanes = sum(f["pe"] * f["simd"] for l, f in zip(meta["layers"], meta["folding"]) if l["kind"] in ("conv", "dense"))
    assert meta["total_macs"] == macs and thr["bound_cycles"] == pytest.approx(macs / lanes), (thr, lanes)
    assert thr["mac_utilization"] == pytest.approx(macs / lanes / 726) and thr["mac_utilization"] >= 0.97, thr
    assert not report.get("notes") or not any("RTL" in n for n in report["notes"]), report.get("notes")


def test_cnn_flow(cnn_run):
    out, report = cnn_run
    acc, be = report["accuracy"], report["bit_exact"]
    assert acc["emulator"] >= 0.965
    assert abs(acc["keras"] - acc["emulator"]) <= 0.005
    assert be["samples"] == 2000 and be["emulator_vs_csim"] == 1.0
    spec = json.loads((out / "spec" / "spec.json").read_text())
    assert [l["kind"] for l in spec["layers"]][:3] == ["conv2d", "maxpool2d", "conv2d"]
    _check_rtl(out, report, 2000)
    assert be["rtl_samples_cocotb"] == COCOTB_SAMPLES


def test_cnn_report_renders_in_chromium(cnn_run, tmp_path):
    check_report_in_chromium(cnn_run[0], tmp_path, "mnist_cnn")


def test_cnn_accumulators_hold_every_input(cnn_run):
    """README: accumulators hold every input of the input type; brute-forced per output channel from the
    integer weights of both convs and the dense layer (tests/worst_case.py)."""
    assert assert_accumulators_hold(DesignSpec.load(cnn_run[0] / "spec")) == 3


def test_cnn_rtl_conv_weight_fault(cnn_run):
    """One bit of the second conv's weights flipped through the load port of the flow's build: the RTL then
    differs from the fault-free emulator and equals the faulty spec's, integer by integer."""
    out, _ = cnn_run
    spec = DesignSpec.load(out / "spec")
    emu = Emulator(spec)
    cfg = load_config(out / "config.yaml")
    x = emu.quantize_input(load_dataset(cfg["data"], cfg["seed"]).x_test[:30])
    faulty = spec.copy()
    conv = next(l for l in faulty.layers if l.name == "conv2d_2")
    w = conv.params["weight"]
    w[1, 1, 3, 5] = 1 if w[1, 1, 3, 5] != 1 else -1  # a ternary code flipped (one bit of the 2-bit word)
    expected = Emulator(faulty).run_int(x)
    assert np.any(expected != emu.run_int(x))
    writes = load_writes(faulty, out / "rtl")
    layer_index = [l.name for l in spec.layers if l.kind != "flatten"].index("conv2d_2")
    assert len(writes) == 1 and writes[0][0] == 2 * layer_index
    bad = run(spec, out / "rtl", x, stalls=True, writes=writes, opt="quick")
    assert bad.mismatched_samples > 0
    good = run(faulty, out / "rtl", x, stalls=True, writes=writes, opt="quick")
    assert good.mismatched_samples == 0, good.first_mismatches


def test_cnn_overlapping_pool_is_refused(cnn_run):
    out, _ = cnn_run
    spec = DesignSpec.load(out / "spec")
    spec.layers[1].attrs["strides"] = [1, 1]
    from codesign.rtl import generate
    with pytest.raises(RTLError, match=r"'maxpool2d_1'.*use strides = pool_size"):
        generate(spec, out / "rtl_bad")


def test_cnn_report_html(cnn_run):
    """report.html of the CNN: conv/pool engines in the per-layer cycles figure, every section filled."""
    from report_checks import check_report_html

    out, report = cnn_run
    check_report_html(out, expect_figures=("throughput", "compression"))
    layers = report["throughput"]["layers"]
    assert [l["kind"] for l in layers.values()] == ["conv2d", "maxpool2d", "conv2d", "maxpool2d", "dense"]
    assert max(l["cycles"] for l in layers.values()) == report["throughput"]["cycles_per_inference"] == 726
