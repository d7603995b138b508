"""What the lock units of a design cost by themselves: rtl/lock_unit.sv alone, one instance per lock
unit of a generated locked run (its lanes, output width and beats), yosys synth_xilinx (flattened),
LUTRAM counted in LUTs as codesign/rtl/synth.py counts it (the key bank is block RAM: its BRAM36 are
reported). Seconds, where bench/lock_overhead.py synthesizes the whole design twice. Alone, the
unit's force-to-value mux costs one LUT per output bit (`output_mux_LUT`); inside mac_pipe it feeds
the output register from the requant's clamp logic and synthesis folds it into those LUTs, so the
whole-design overhead (bench/lock_overhead.py) is the figure that counts, this one an upper bound.

    python bench/lock_unit_cost.py RUN_DIR --out bench/results/lock_unit_cost_mnist_mlp.json

Writes {units: [{layer, pe, out_w, nf}], cells, LUT, FF, BRAM36, where: {output_mux_LUT, key_bank_LUT,
other_LUT}}.
"""
import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from codesign.paths import ip_dir
from codesign.rtl import read_meta
from codesign.rtl.synth import LUTRAM_LUTS, _yosys, count_resources, hierarchy_cells


def top_of(units: list) -> str:
    ports, insts = ["input logic clk"], []
    for i, u in enumerate(units):
        w, kw, kaw = u["pe"] * u["out_w"], u["kw"], u["kaw"]
        ports += [f"input logic [{kaw - 1}:0] r{i}_addr", f"input logic [{w - 1}:0] y{i}",
                  f"output logic [{w - 1}:0] yl{i}",
                  f"input logic kl{i}_we", f"input logic [{kaw - 1}:0] kl{i}_addr", f"input logic [{kw - 1}:0] kl{i}_data"]
        insts.append(f"  lock_unit #(.PE({u['pe']}), .OUT_W({u['out_w']}), .NF({u['nf']}), .KAW({kaw})) u{i} (.clk, "
                     f".raddr(r{i}_addr), .y(y{i}), .yl(yl{i}), "
                     f".kl_we(kl{i}_we), .kl_addr(kl{i}_addr), .kl_data(kl{i}_data));")
    return "module lock_units(" + ", ".join(ports) + ");\n" + "\n".join(insts) + "\nendmodule\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    units = list(read_meta(a.run_dir / "rtl")["lock"].values())
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(ip_dir("rtl") / "lock_unit.sv", Path(tmp) / "lock_unit.sv")
        (Path(tmp) / "lock_units.sv").write_text(top_of(units))
        subprocess.run([_yosys(), "-q", "-p", "read_verilog -sv lock_unit.sv lock_units.sv; "
                        "synth_xilinx -top lock_units -family xc7 -flatten; tee -q -o stats.json stat -json"],
                       cwd=tmp, check=True, capture_output=True, timeout=3600)
        cells = hierarchy_cells(json.loads((Path(tmp) / "stats.json").read_text()), "lock_units")
    res = count_resources(cells)
    mux = sum(u["pe"] * u["out_w"] for u in units)  # one LUT per output bit: key value or the engine's
    bank = sum(LUTRAM_LUTS.get(c, 0) * n for c, n in cells.items())
    out = {"run": str(a.run_dir), "units": [{k: u[k] for k in ("layer", "pe", "out_w", "nf")} for u in units],
           "cells": cells, "LUT": res["LUT"], "FF": res["FF"], "BRAM36": res["BRAM36"],
           "where": {"output_mux_LUT": mux, "key_bank_LUT": bank, "other_LUT": res["LUT"] - mux - bank}}
    a.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
