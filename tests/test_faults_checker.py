"""The optional RTL weight-memory checker (rtl.checker: true; codesign/rtl/checker.py, rtl/wmem_check.sv):
its cocotb unit bench, a flow run of the digits example with the checker on, and its alarms in the RTL
detection campaign against the software model fault for fault."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import EXAMPLES, assert_user_error, codesign

from codesign.paths import ip_dir
from codesign.rtl import toolchain
from codesign.rtl.checker import crc_words, scan_cycles


def _faults(rng, depth, dw):
    """Single flips, pairs, triples, a bit flipped twice (no change) and errors that are multiples of
    the CRC polynomial (x^k * P: bits k, k+1, k+3, k+4, k+64 of the chunk stream), which it must miss."""
    chunks = -(-dw // 64)
    out = [[(int(rng.integers(depth)), int(rng.integers(dw))) for _ in range(n)] for n in (1,) * 12 + (2,) * 8 + (3,) * 4]
    a, bit = int(rng.integers(depth)), int(rng.integers(dw))
    out.append([(a, bit), (a, bit)])
    for _ in range(4):
        a, c, i = int(rng.integers(1, depth)), int(rng.integers(chunks)), int(rng.integers(dw - 64 * (chunks - 1) - 4))
        prev = (a, 64 * (c - 1) + i) if c else (a - 1, 64 * (chunks - 1) + i)
        out.append([(a, 64 * c + i + d) for d in (0, 1, 3, 4)] + [prev])
    return out


def test_wmem_check_bench(tmp_path):
    """rtl/wmem_check.sv alone (150-bit words: 3 CRC chunks, 37 words in a 64-word array): fault-free
    scans never alarm (also with same-value load-port writes stalling the scan), a flip written
    mid-scan alarms within two scan periods, after a reset within one, a restored word clears after a
    reset, port A reads stay correct throughout, and over single, double and triple flips, a no-op
    and errors that are multiples of the CRC polynomial the alarm equals crc_words(faulty) != golden
    (the multiples are missed: the model is what the RTL computes, not a wish)."""
    dw, depth, aw = 150, 37, 6
    rng = np.random.default_rng(3)
    words = [int.from_bytes(rng.bytes(19), "little") & ((1 << dw) - 1) for _ in range(depth)]
    gold = crc_words(words, dw)
    (tmp_path / "ck.mem").write_text("".join(f"{w:038x}\n" for w in words))
    (tmp_path / "wmem_check.sv").write_bytes((ip_dir("rtl") / "wmem_check.sv").read_bytes())
    (tmp_path / "ck_tb.sv").write_text(
        f"module ck_tb (input logic clk, input logic rst, input logic re, input logic [{aw - 1}:0] raddr,\n"
        f"    output logic [{dw - 1}:0] rdata, input logic we, input logic [{aw - 1}:0] waddr,\n"
        f"    input logic [{dw - 1}:0] wdata, output logic alarm);\n"
        f"    wmem_check #(.DW({dw}), .DEPTH({depth}), .AW({aw}), .INIT(\"ck.mem\"), .GOLD(64'h{gold:x})) u (.*);\n"
        "endmodule\n")
    faults = _faults(rng, depth, dw)
    expect = []
    for f in faults:
        w = list(words)
        for a, b in f:
            w[a] ^= 1 << b
        expect.append(crc_words(w, dw) != gold)
    assert expect[:24] == [True] * 24 and expect[24:] == [False] * 5
    scan = scan_cycles(depth, dw)
    job = {"words": [f"{w:x}" for w in words], "depth": depth, "dw": dw, "scan": scan, "faults": faults,
           "stats": str(tmp_path / "stats.json")}
    (tmp_path / "job.json").write_text(json.dumps(job))
    build = toolchain.build([tmp_path / "wmem_check.sv", tmp_path / "ck_tb.sv"], "ck_tb", tmp_path / "build", opt="quick")
    toolchain.run_test("ck_tb", build, "test_wmem_check", tmp_path, {"CODESIGN_SIM_JOB": str(tmp_path / "job.json")},
                       tmp_path / "sim.log")
    st = json.loads((tmp_path / "stats.json").read_text())
    assert st["port_a_errors"] == 0
    assert st["clean_alarm_cycle"] == 0 and st["restored_alarm_cycle"] == 0 and st["after_faults_alarm_cycle"] == 0
    assert st["flip_after_write_cycles"] is not None and 0 < st["flip_after_write_cycles"] <= 2 * scan
    assert 0 < st["flip_after_reset_cycles"] <= scan
    assert st["fault_alarms"] == expect


@pytest.mark.long
def test_checker_through_the_flow_on_digits(tmp_path):
    """examples/digits_mlp.yaml with rtl.checker: true through `codesign flow` (cocotb with stalls and the
    C++ harness bit-exact, the checker silent on the spec's parameters); on its build every memory's
    golden CRC equals the CRC of the .mem file it loads, a bit flipped through the load port in any
    memory raises ck_alarm within one scan after a reset (and without a reset while inferences run),
    the restored design is silent; then `codesign faults --detect --views emulator,rtl` on 2-bit random
    faults: the RTL checker's alarm equals the reference model and the software group-CRC verdict
    fault for fault, and 10,000 fault-free RTL inferences raise no alarm. (~1 CPU-minute: training,
    cocotb; tests/test_faults_checker.py::test_checker_in_the_detection_campaign is the CI test.)"""
    run = tmp_path / "digits"
    codesign("flow", EXAMPLES / "digits_mlp.yaml", "--out", run, "--set", "train.epochs=2",
             "--set", "baseline.float=false", "--set", "hls.enabled=false", "--set", "rtl.samples=32",
             "--set", "rtl.cocotb_samples=8", "--set", "rtl.synth=false", "--set", "rtl.checker=true")
    assert json.loads((run / "report.json").read_text())["bit_exact"]["emulator_vs_rtl"] == 1.0
    _flips_and_campaign(run)


def test_checker_in_the_detection_campaign(tmp_path):
    """The same checks on a run folder without training (a random 64-16-10 ternary design with shifts
    on sklearn's digits, its RTL generated with the checker): golden CRCs equal the CRCs of the .mem
    files, flips in every memory alarm within one scan, restored designs are silent, and the detection
    campaign's RTL checker alarms equal the reference and the software CRC detector fault for fault
    with no alarm over 10,000 fault-free inferences."""
    import yaml

    from codesign.rtl import generate
    from codesign.rtl.random_spec import random_mlp

    run = tmp_path / "tiny"
    spec = random_mlp(3, [64, 16, 10], ternary=True, shift=True)
    spec.save(run / "spec")
    (run / "config.yaml").write_text(yaml.safe_dump(yaml.safe_load((EXAMPLES / "digits_mlp.yaml").read_text())))
    (run / "report.json").write_text("{}")
    generate(spec, run / "rtl", checker=True)
    _flips_and_campaign(run)


def _flips_and_campaign(run):
    from codesign.rtl.generate import read_meta
    from codesign.rtl.harness import Harness, _read_mem
    from codesign.spec import DesignSpec

    meta = read_meta(run / "rtl")
    ck = meta["checker"]
    assert [m["sel"] for m in ck["memories"]] == [0, 1, 2, 3]
    assert "output logic ck_alarm" in (run / "rtl" / "model_top.sv").read_text()
    for m in ck["memories"]:
        assert int(m["golden"], 16) == crc_words(_read_mem(run / "rtl" / f"l{m['engine']}_{m['memory']}.mem"), m["width"])
    rng = np.random.default_rng(0)
    spec = DesignSpec.load(run / "spec")
    with Harness(run / "rtl") as h:
        h.set_spec(spec)
        assert not h.check()
        snap = h.snapshot()
        for m in ck["memories"]:
            sel = m["sel"]
            for _ in range(3):
                a, b = int(rng.integers(m["depth"])), int(rng.integers(m["width"]))
                w = snap[sel][a]
                assert h.check([(sel, a, w ^ (1 << b))], cycles=m["scan_cycles"]), (m, a, b)
                h.write([(sel, a, w)])
            assert not h.check()
        # no reset: the scans run beside the inferences; a flip is caught while the MAC works
        sel, a = 2, int(rng.integers(ck["memories"][2]["depth"]))
        h.write([(sel, a, snap[sel][a] ^ 1)])
        assert h.run_checked(np.zeros((8, 64), np.int64)).alarm
        h.write([(sel, a, snap[sel][a])])
        assert not h.check()
    codesign("faults", run, "--campaign", "random", "--faults", "200", "--flips", "2", "--detect",
             "--views", "emulator,rtl", "--rtl-faults", "20")
    det = json.loads((run / "report.json").read_text())["faults"]["detection"]
    c = det["rtl"]["checker"]
    assert c["faults"] == det["faults"] and c["equal_to_model"] == 1.0 and c["equal_to_software_checksum"] == 1.0
    assert c["false_alarms"] == 0 and c["clean_inferences"] == 10_000 and c["clean_scans"] > 100
    assert c["rate"] == 1.0 and c["harmful_rate"] == 1.0


def test_checker_refuses_engines_it_does_not_scan(tmp_path):
    """A kron_dense engine keeps its factors in kron_matvec's memories, which the checker does not
    scan: generate(checker=True) refuses with a ConfigError naming the layer and the fix."""
    from codesign.errors import ConfigError
    from codesign.rtl import generate
    from codesign.rtl.random_spec import INPUT_TYPE, random_dense, random_kron
    from codesign.spec import DesignSpec

    rng = np.random.default_rng(7)
    k = random_kron(rng, "k", 4, 5, 3, 4, 2, INPUT_TYPE)
    tail = random_dense(rng, "out", k.output_shape[-1], 5, k.out_type, relu=False, exact_output=True)
    spec = DesignSpec("kron", k.input_shape, INPUT_TYPE, [k, tail])
    with pytest.raises(ConfigError, match="rtl.checker: false"):
        generate(spec, tmp_path / "rtl", checker=True)
    assert not (tmp_path / "rtl" / "model_top.sv").exists()


@pytest.mark.parametrize("example, layer", [("mnist_mlp_kron.yaml", "kron_dense_1 (kron_dense)"),
                                            ("mnist_mlp_wings.yaml", "wings_dense_1 (wings_dense)")])
def test_checker_on_a_kron_or_wings_config_is_refused_at_load(tmp_path, example, layer):
    """`codesign flow` with rtl.checker: true on the Kronecker / WINGs example stops at config load (before
    any data, training or folder), exit 2, one line naming the key, the layer and the fix; the same
    config with the checker off passes `codesign config --check`-style loading (load_config)."""
    from codesign.config import load_config

    out = tmp_path / "run"
    proc = codesign("flow", EXAMPLES / example, "--out", out, "--set", "rtl.checker=true", check=False, timeout=120)
    assert_user_error(proc, "rtl.checker", layer, "rtl.checker: false")
    assert not out.exists()
    assert load_config(EXAMPLES / example, ["rtl.checker=false"])["rtl"]["checker"] is False
    assert load_config(EXAMPLES / "mnist_mlp.yaml", ["rtl.checker=true"])["rtl"]["checker"] is True
