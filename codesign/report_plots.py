"""The report's figures, drawn from report.json sections alone (matplotlib, Agg backend).

Each function takes one section (plus what it needs to scale it, e.g. the board's capacity) and
returns PNG bytes, or None when the section holds nothing to draw; codesign/report.py decides where
they go (inline in report.html, files under plots/ for report.md).
"""
from __future__ import annotations

import io

PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


def subplots(*args, figsize=None, **kw):
    """(figure, axes) as `pyplot.subplots` gives them, without pyplot: no global backend is chosen or
    switched, so a report (or a step's plot) drawn inside a notebook leaves the notebook's own inline
    backend alone, and no figure stays registered to leak. `fig.savefig` renders with Agg."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kw)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _bar_labels(ax, bars, fmt="{:,.0f}") -> None:
    for b in bars:
        h = b.get_height()
        if h:
            ax.annotate(fmt.format(h), (b.get_x() + b.get_width() / 2, h), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 1), textcoords="offset points")


def stored_bits(compression: dict) -> bytes | None:
    """Per layer: stored bits of the design next to what the layer would cost before hardening
    (float32, and the dense layer at the same bit width for a compressed layer); log scale."""
    layers = compression.get("layers") or {}
    if not layers:
        return None
    names = list(layers)
    series = [("float32", "float32_bits"), ("dense, same bit width", "dense_equivalent_bits"),
              ("stored (this design)", "weight_bits")]
    series = [(label, key) for label, key in series if any(key in v for v in layers.values())]
    # three series put a three-column legend above the bars: wide enough that it stays inside the axes
    fig, ax = subplots(figsize=(max(5.0 + 1.2 * (len(series) - 2), 1.3 * len(names) + 2), 3.4))
    width = 0.8 / len(series)
    for i, (label, key) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(names))]
        vals = [layers[n].get(key, 0) for n in names]
        bars = ax.bar(xs, vals, width, label=label, color=PALETTE[i])
        _bar_labels(ax, bars)
    ax.set_xticks(range(len(names)), names, rotation=20 if len(names) > 4 else 0, fontsize=8)
    values = [v[k] for v in layers.values() for _, k in series if v.get(k)]
    if max(values) / min(values) > 30:  # bits span decades (float32 vs ternary): log scale
        ax.set_yscale("log")
        ax.set_ylim(min(values) / 3, max(values) * 30)  # room above the bars for the legend
    else:
        ax.set_ylim(0, max(values) * 1.3)
    ax.set_ylabel("bits")
    ax.set_title("stored parameter bits per layer")
    ax.legend(fontsize=8, loc="upper center", ncol=len(series))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def layer_cycles(throughput: dict) -> bytes | None:
    """Per engine: cycles per inference vs its MAC bound (MACs / lanes), and its MAC utilization."""
    layers = throughput.get("layers") or {}
    if not layers:
        return None
    names = list(layers)
    cycles = [layers[n]["cycles"] for n in names]
    bound = [layers[n]["bound_cycles"] or 0 for n in names]  # None: a maxpool engine (no MAC lanes)
    fig, (ax, ax2) = subplots(1, 2, figsize=(max(7.0, 1.6 * len(names) + 4), 3.4),
                                  gridspec_kw={"width_ratios": [3, 2]})
    xs = range(len(names))
    b1 = ax.bar([x - 0.2 for x in xs], cycles, 0.4, label="engine cycles", color=PALETTE[0])
    b2 = ax.bar([x + 0.2 for x in xs], bound, 0.4, label="MAC bound", color=PALETTE[2])
    _bar_labels(ax, b1)
    _bar_labels(ax, b2)
    if throughput.get("cycles_per_inference"):
        ax.axhline(throughput["cycles_per_inference"], color=PALETTE[3], ls="--", lw=1,
                   label=f"measured {throughput['cycles_per_inference']:,.0f} cycles/inference")
    ax.set_xticks(list(xs), names, rotation=20 if len(names) > 3 else 0, fontsize=8)
    ax.set_ylabel("cycles per inference")
    ax.set_title("cycles per layer engine")
    ax.set_ylim(0, max(cycles + bound + [throughput.get("cycles_per_inference") or 0]) * 1.35)  # room for the legend
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    ax.grid(axis="y", alpha=0.3)
    util = [layers[n]["mac_utilization"] or 0 for n in names]
    bars = ax2.bar(list(xs), util, 0.6, color=PALETTE[4])
    _bar_labels(ax2, bars, "{:.2f}")
    ax2.set_xticks(list(xs), names, rotation=20 if len(names) > 3 else 0, fontsize=8)
    ax2.set_ylim(0, 1.1)
    ax2.set_ylabel("MACs / (lanes x cycles)")
    ax2.set_title("MAC utilization per engine")
    ax2.grid(axis="y", alpha=0.3)
    return _png(fig)


def resources(res: dict, capacity: dict | None) -> bytes | None:
    """LUT / FF / DSP / BRAM36 as a share of the board (the 100% line is the board's capacity)."""
    kinds = [k for k in ("LUT", "FF", "DSP", "BRAM36") if k in res]
    if not capacity or not kinds:
        return None
    share = [100.0 * res[k] / capacity[k] for k in kinds]
    fig, ax = subplots(figsize=(5.5, 2.6))
    colors = [PALETTE[3] if s > 100 else PALETTE[0] for s in share]
    bars = ax.barh(kinds, share, color=colors)
    for b, k, s in zip(bars, kinds, share):
        ax.annotate(f"{res[k]:,} / {capacity[k]:,} ({s:.1f}%)", (b.get_width(), b.get_y() + b.get_height() / 2),
                    va="center", fontsize=8, xytext=(3, 0), textcoords="offset points")
    ax.axvline(100, color="k", lw=1)
    ax.set_xlim(0, max(120, max(share) * 1.35))
    ax.invert_yaxis()
    ax.set_xlabel(f"% of {res.get('board', 'the board')}")
    ax.set_title("resources vs board capacity")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def grouped_bars(title: str, values: dict, ylabel: str, ylim: tuple | None = (0, 1.05)) -> bytes | None:
    """One bar per named number (e.g. a lock's accuracies with, without and with random keys)."""
    values = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not values:
        return None
    fig, ax = subplots(figsize=(max(4.5, 0.9 * len(values) + 2), 3.0))
    bars = ax.bar(range(len(values)), list(values.values()), color=PALETTE[: len(values)] or PALETTE[0])
    _bar_labels(ax, bars, "{:.3f}")
    ax.set_xticks(range(len(values)), [k.replace("_", " ") for k in values], rotation=20, fontsize=8, ha="right")
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def curve(title: str, points: dict, xlabel: str, ylabel: str) -> bytes | None:
    """A line through {x: y} points (e.g. a lock's head start: accuracy gained vs data fraction)."""
    try:
        xy = sorted((float(k), float(v)) for k, v in points.items())
    except (TypeError, ValueError):
        return None
    if not xy:
        return None
    fig, ax = subplots(figsize=(4.5, 3.0))
    ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o", color=PALETTE[0])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _png(fig)


def step_times(timing: dict) -> bytes | None:
    """Wall seconds per flow step (horizontal bars), the total left out."""
    steps = {k: v for k, v in timing.items() if k != "total" and isinstance(v, (int, float)) and v > 0}
    if not steps:
        return None
    fig, ax = subplots(figsize=(5.5, 0.35 * len(steps) + 1.0))
    bars = ax.barh(list(steps), list(steps.values()), color=PALETTE[0])
    for b in bars:
        ax.annotate(f"{b.get_width():.1f} s", (b.get_width(), b.get_y() + b.get_height() / 2), va="center",
                    fontsize=8, xytext=(3, 0), textcoords="offset points")
    ax.invert_yaxis()
    ax.set_xlim(0, max(steps.values()) * 1.25)
    ax.set_xlabel("seconds")
    ax.set_title("wall time per step" + (f" (total {timing['total']:.0f} s)" if "total" in timing else ""))
    return _png(fig)
