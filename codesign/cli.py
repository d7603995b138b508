"""The `codesign` command line (typer + rich).

User errors (bad config, missing data, unsupported layer, malformed spec) print one line naming
the problem and the fix, and exit with code 2; nothing else is caught.
"""
from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer

from .cli_common import _fail, _quiet_tensorflow, _user_errors, console
from .progress import StepProgress

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Harden, compile and verify small neural networks for FPGAs.")

@app.command()
def flow(config: Path = typer.Argument(..., help="run config YAML, e.g. examples/mnist_mlp.yaml"),
         out: Path = typer.Option(..., "--out", help="run folder to create"),
         no_rtl: bool = typer.Option(False, "--no-rtl", help="skip RTL generation and simulation"),
         set_: list[str] = typer.Option([], "--set", help="override a config key: --set train.epochs=5 "
                                                          "(dotted key, YAML value; repeatable)")):
    """Data -> train -> design spec -> emulator -> hls4ml C-sim check -> RTL check -> report."""
    _quiet_tensorflow()
    from .config import load_config
    from .flow import run_flow

    try:
        cfg = load_config(config, set_)
        if no_rtl:
            cfg["rtl"]["enabled"] = False
        with StepProgress(console, "codesign flow") as progress:
            report = run_flow(cfg, out, log=progress.log)
    except _user_errors() as e:
        _fail(e)
    console.print_json(json.dumps({k: report[k] for k in ("accuracy", "bit_exact") if k in report}))
    console.print(f"report: {out / 'report.json'}")


@app.command("config")
def config_cmd(check: Path = typer.Option(None, "--check", help="check a run config YAML and print it as it would "
                                                                "run (every default filled in)"),
               schema: bool = typer.Option(False, "--schema", help="print the JSON schema of a run config (for "
                                                                   "editors: completion and checks while typing)"),
               defaults: bool = typer.Option(False, "--defaults", help="print every key's default as YAML"),
               set_: list[str] = typer.Option([], "--set", help="with --check: override a config key, as in "
                                                                "`codesign flow --set`")):
    """The run config: its JSON schema, its defaults, or a config file checked without running anything."""
    import yaml

    from . import config_schema
    from .config import load_config
    from .errors import ConfigError

    try:
        if schema + defaults + (check is not None) != 1:
            raise ConfigError("codesign config: give one of --schema, --defaults or --check FILE.yaml")
        if set_ and check is None:
            raise ConfigError("codesign config: --set applies to --check FILE.yaml")
        if schema:
            sys.stdout.write(json.dumps(config_schema.json_schema(), indent=2) + "\n")
        elif defaults:
            sys.stdout.write(yaml.safe_dump(config_schema.defaults(), sort_keys=False))
        else:
            sys.stdout.write(yaml.safe_dump(load_config(check, set_), sort_keys=False))
    except _user_errors() as e:
        _fail(e)


@app.command("compile")
def compile_model(model: Path = typer.Argument(..., help="a trained QKeras model: .h5, or .json + weights .h5"),
                  out: Path = typer.Option(..., "--out", help="folder for the design spec (spec.json + params.npz)"),
                  input_type: str = typer.Option(None, "--input-type",
                                                 help="input fixed-point type, e.g. 'fixed<16,6,RND_CONV,SAT>' "
                                                      "(default: the model's input QActivation, else ufixed<8,0> = "
                                                      "uint8 pixels p/256)"),
                  data: Path = typer.Option(None, "--data", help="npz whose `x` (reals, or uint8 pixels p/256) the "
                                                                 "spec is checked on against Keras (default: inputs "
                                                                 "drawn over the input type)"),
                  weights: Path = typer.Option(None, "--weights", help="weights .h5 of a .json model (default: "
                                                                       "<stem>_weights.h5 next to it)")):
    """Extract the design spec of a trained QKeras model of your own, checked layer by layer against Keras."""
    _quiet_tensorflow()
    from .compile import compile_file

    try:
        summary = compile_file(model, out, input_type=input_type, data=data, weights=weights)
    except _user_errors() as e:
        _fail(e)
    sys.stdout.write(summary + "\n")


@app.command()
def sim(run_dir: Path = typer.Argument(..., help="a run folder made by `codesign flow`"),
        samples: int = typer.Option(None, "--samples", help="simulate only the first N test samples")):
    """Regenerate the RTL of a built run, check it against the emulator under cocotb + Verilator, time it."""
    _quiet_tensorflow()
    from .rtl_step import resimulate

    try:
        with StepProgress(console, "codesign sim") as progress:
            report = resimulate(run_dir, log=progress.log,
                                samples=samples)
    except _user_errors() as e:
        _fail(e)
    sys.stdout.write(json.dumps({k: report[k] for k in ("bit_exact", "throughput", "resources") if k in report},
                                indent=1) + "\n")


@app.command()
def pnr(run_dir: Path = typer.Argument(..., help="a run folder made by `codesign flow` (with RTL)"),
        mhz: float = typer.Option(None, "--mhz", help="target clock in MHz (default: the run's hls.clock_period_ns)")):
    """Place and route a built run's RTL for an ECP5 (yosys + nextpnr); print and store the routed timing."""
    from .rtl.toolchain import ToolchainError
    from .rtl_step import route

    try:
        with console.status("codesign pnr") as status:
            timing = route(run_dir, log=lambda msg: (status.update(msg), console.log(msg, highlight=False)),
                           target=mhz)
    except _user_errors() as e:
        _fail(e)
    except ToolchainError as e:
        console.print(f"[bold red]error:[/] {e}", highlight=False)
        raise typer.Exit(1)
    sys.stdout.write(json.dumps({"timing": timing}, indent=1) + "\n")


class View(str, Enum):
    keras = "keras"
    emulator = "emulator"
    csim = "csim"
    rtl = "rtl"


@app.command()
def evaluate(run_dir: Path = typer.Argument(..., help="a run folder made by `codesign flow`"),
             data: Path = typer.Option(..., "--data", help="npz with uint8 `x` and labels `y`"),
             view: View = typer.Option(View.emulator, "--view", help="which implementation to run"),
             key: str = typer.Option(None, "--key", help="locked design: a sealed password FILE, `none` or `random` "
                                                         "(default: the run's own lock/password.enc)"),
             device_key: Path = typer.Option(None, "--device-key", help="device key opening --key (default "
                                                                         "$CODESIGN_DEVICE_KEY or RUN_DIR/lock/device.key)")):
    """Accuracy of one view of a built run on any npz, printed as JSON."""
    _quiet_tensorflow()
    from .evaluate import evaluate_view

    try:
        result = evaluate_view(run_dir, data, view.value, key=key, device_key=device_key)
    except _user_errors() as e:
        _fail(e)
    sys.stdout.write(json.dumps(result) + "\n")


@app.command()
def robustness(run_dir: Path = typer.Argument(..., help="a run folder made by `codesign flow` with robustness enabled")):
    """Re-run the attacks on a built run's saved variants; rewrites its robustness section and plot."""
    _quiet_tensorflow()
    from .robustness import rerun

    try:
        with StepProgress(console, "codesign robustness") as progress:
            rob = rerun(run_dir, log=progress.log)
    except _user_errors() as e:
        _fail(e)
    summary = {v: {k: r[k] for k in ("clean_accuracy", "size_kb") if k in r} | {"pgd": r.get("pgd"),
               "gradient_masking": r["gradient_masking"]["detected"]} for v, r in rob.items()}
    sys.stdout.write(json.dumps(summary) + "\n")


@app.command()
def deploy(run_dir: Path = typer.Argument(..., help="a run folder made by `codesign flow` (with RTL)"),
           out: Path = typer.Option(..., "--out", help="deploy package folder to write (and OUT.zip)"),
           board: str = typer.Option(None, "--board", help="target board (default: the run config's board)"),
           vectors: int = typer.Option(16, "--vectors", help="test vectors for the on-board self-test"),
           clock_mhz: float = typer.Option(None, "--clock-mhz", help="fabric clock Vivado builds for (default: the board's)"),
           board_repo: Path = typer.Option(None, "--board-repo", help="folder of Vivado board files (board.repoPaths)"),
           allow_timing_fail: bool = typer.Option(False, "--allow-timing-fail",
                                                  help="keep a bitstream that misses timing (the build stops otherwise)"),
           ip: str = typer.Option("rtl", "--ip", help="the model's IP core: rtl (the generated RTL) or hls "
                                                      "(the hls4ml project, exported by Vitis HLS)")):
    """Board package of a built run: RTL + wrapper, Vivado TCL (Zynq + AXI DMA), PYNQ driver, self-test."""
    from .deploy import deploy as make_package

    try:
        manifest = make_package(run_dir, out, board=board, vectors=vectors, clock_mhz=clock_mhz,
                                board_repo=board_repo, allow_timing_fail=allow_timing_fail, ip=ip)
    except _user_errors() as e:
        _fail(e)
    s = manifest["stream"]
    console.print(f"{manifest['board']} ({manifest['part']}, {manifest['clock_mhz']:g} MHz): {len(manifest['files'])} files, stream "
                  f"{s['in_word_bits']}-bit in / {s['out_word_bits']}-bit out: {out} and {out}.zip", highlight=False)


class Campaign(str, Enum):
    exhaustive = "exhaustive"
    random = "random"
    bfa = "bfa"


@app.command()
def faults(run_dir: Path = typer.Argument(..., help="a run folder made by `codesign flow`"),
           campaign: Campaign = typer.Option(Campaign.exhaustive, "--campaign", help="which faults to inject"),
           flips: int = typer.Option(1, "--flips", help="random: bits flipped per fault"),
           count: int = typer.Option(1000, "--faults", help="random: number of faults"),
           seeds: int = typer.Option(5, "--seeds", help="bfa: attack seeds (each with its random-flip baseline)"),
           seed: int = typer.Option(0, "--seed", help="first random seed"),
           max_flips: int = typer.Option(200, "--max-flips", help="bfa: stop after this many flips"),
           views: str = typer.Option("emulator", "--views", help="emulator, or emulator,rtl to cross-check on the RTL"),
           scheduler: str = typer.Option(None, "--scheduler", help="dask.distributed scheduler address (default: local)"),
           workers: int = typer.Option(1, "--workers", help="local worker processes (1: this process); with --views rtl also the "
                                                           "cross-check's harness processes"),
           fresh: bool = typer.Option(False, "--fresh", help="discard this campaign's earlier rows instead of resuming"),
           detect: bool = typer.Option(False, "--detect", help="also measure canary + checksum detection and false alarms"),
           rtl_faults: int = typer.Option(2000, "--rtl-faults", help="--views rtl: stratified faults run on RTL and emulator"),
           rtl_samples: int = typer.Option(2, "--rtl-samples", help="--views rtl: test digits streamed per fault (those the fault changes first)"),
           key: str = typer.Option(None, "--key", help="locked design: a sealed password FILE, `none` (score it without "
                                                       "its key) or `random` (default: the run's own lock/password.enc)"),
           device_key: Path = typer.Option(None, "--device-key", help="device key opening --key (default "
                                                                       "$CODESIGN_DEVICE_KEY or RUN_DIR/lock/device.key)")):
    """Bit-flip campaign on a built run's stored integers: rows in RUN/faults/, report.json `faults`, plots.
    A locked design is scored under its key (`--key`, as `codesign evaluate` takes it)."""
    from .faults.campaign import run_campaign

    try:
        wanted = [v.strip() for v in views.split(",") if v.strip()]
        bad = [v for v in wanted if v not in ("emulator", "rtl")]
        if bad or "emulator" not in wanted:
            from .errors import ConfigError

            raise ConfigError(f"--views {views!r}: give emulator or emulator,rtl")
        with StepProgress(console, "codesign faults") as progress:  # "faults: chunk N/M" lines drive a bar
            section = run_campaign(run_dir, campaign.value, flips=flips, count=count, seed=seed, seeds=seeds,
                                   max_flips=max_flips, workers=workers, scheduler=scheduler, fresh=fresh,
                                   detect=detect, rtl="rtl" in wanted, rtl_faults=rtl_faults, rtl_samples=rtl_samples,
                                   key=key, device_key=device_key, log=progress.log)
    except _user_errors() as e:
        _fail(e)
    sys.stdout.write(json.dumps(section) + "\n")


from .techniques.lock.cli import app as _lock_app  # noqa: E402  (codesign lock keygen|seal|check)

app.add_typer(_lock_app, name="lock")


def main() -> None:  # pragma: no cover - console entry
    app()
