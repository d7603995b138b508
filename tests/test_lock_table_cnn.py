"""bench/lock_table_cnn.py: the CNN lock schemes' table from bench/lock_cnn.py --merge tables (seconds, no
training): per-attack head starts are attack minus scratch at the same fraction (pruning counted at the
largest), worst and means over the attacked seeds, random keys extended on a run folder count; a missing
file is one line and exit code 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _merged(attacked: bool) -> dict:
    rows = [{"seed": s, "accuracy_with_key": 0.95, "accuracy_unlocked": 0.955, "with_key_minus_unlocked_points": -0.5,
             "accuracy_without_key": 0.1 + s / 100, "accuracy_random_key_best": 0.12, "random_keys": 20,
             "accuracy_random_key_best_all": 0.15 + s / 100, "random_keys_all": 1000} for s in (0, 1, 2)]
    table = {"overrides": ["harden.lock.hide=0.5"], "by_seed": rows}
    if attacked:
        table["attacks_after"] = {
            "seed0": {"head_start": {"0.01": -50.0, "0.1": -40.0}, "head_start_worst": {"0.01": 1.0, "0.1": 2.5},
                      "attack_scratch": {"0.01": 0.70, "0.1": 0.90},
                      "attacks": {"finetune_0.01": 0.20, "adaptive_guess_0.01": 0.71, "finetune_0.1": 0.50,
                                  "adaptive_guess_0.1": 0.925, "prune_0.1_finetune": 0.60}}}
        table["ranked_guesses"] = {"seed1_guesses": {"by_fraction": {
            "0.01": {"best_guess": "out_l1_high_value", "head_start_best_guess": 22.35},
            "0.1": {"best_guess": "act_mean_high_value", "head_start_best_guess": -1.5}}},
            "seed2_guesses": {"by_fraction": {"0.01": {"best_guess": "bias_low_mean", "head_start_best_guess": 3.0}}}}
    return table


def test_cnn_lock_table(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_merged(True)))
    b.write_text(json.dumps(_merged(False)))
    out = tmp_path / "t.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "lock_table_cnn.py"), "--scheme", f"hidden={a}",
                    "--scheme", f"plain={b}", "--out", str(out)], check=True, capture_output=True)
    t = json.loads(out.read_text())
    h = t["schemes"]["hidden"]
    assert h["attacked_seeds"] == 3 and h["seeds"] == ["0", "1", "2"]
    by = h["by_seed"]["0"]["head_start_by_attack"]
    assert by["0.01"] == {"finetune_0.01": -50.0, "adaptive_guess_0.01": 1.0}
    assert by["0.1"] == {"finetune_0.1": -40.0, "adaptive_guess_0.1": 2.5, "prune_0.1_finetune": -30.0}
    assert h["mean"]["accuracy_without_key"] == 0.11 and h["mean"]["accuracy_random_key_best"] == 0.16
    s1 = h["by_seed"]["1"]
    assert s1["random_keys"] == 1000 and "head_start_finetune" not in s1 and s1["attacks_run"] == "ranked guesses"
    assert s1["head_start_worst"] == {"0.01": 22.35, "0.1": -1.5}
    assert s1["head_start_by_attack"]["0.01"] == {"ranked_guess_out_l1_high_value": 22.35}
    assert h["mean"]["head_start_worst_max"] == {"0.01": 22.35, "0.1": 2.5}
    assert h["mean"]["head_start_worst"] == {"0.01": 8.78, "0.1": 0.5}  # (1 + 22.35 + 3) / 3; (2.5 - 1.5) / 2
    assert h["mean"]["head_start_worst_seeds"] == {"0.01": 3, "0.1": 2} and h["mean"]["head_start_finetune_seeds"] == {
        "0.01": 1, "0.1": 1}
    assert t["schemes"]["plain"]["attacked_seeds"] == 0 and "head_start_worst" not in t["schemes"]["plain"]["mean"]
    bad = subprocess.run([sys.executable, str(ROOT / "bench" / "lock_table_cnn.py"), "--scheme",
                          f"x={tmp_path / 'missing.json'}", "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "NAME=FILE" in bad.stderr
