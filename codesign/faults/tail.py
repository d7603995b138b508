"""Output integers of a design and of its one-flip variants on a fixed set of inputs, recomputed only
from the faulted layer on, and in that layer only the output channel the flip touches.

Why: the bit-flip attack tries several candidate flips per step and re-verifies every committed one
over the whole test split; rerunning every layer (a CNN's first convolutions above all) for each
would dominate its time. The inputs and pre-lock outputs of every layer of the current design are
kept; a weight, bias or weight-shift flip of a dense or conv2d layer (a kind with `Kind.matmul`)
changes one output column (output channel), so that column alone is recomputed by the layer's own kernel on a one-column copy
of the layer (the emulator's integers, same code path), the rest of the layer's output reused, and
the layers after it run in full. Other kinds (Kronecker, WINGs) recompute the whole faulted layer.
A committed flip updates the kept activations from its layer on.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..emulator import KERNELS, Emulator
from ..kinds import registry as kinds
from .model import SiteMap

# the parameters whose flip changes one output column of a kind whose kernel is the emulator's
# dense_kernel (Kind.matmul set: dense on vectors, conv2d on its windows; weight's last axis = column)
COLUMN_PARAMS = ("weight", "bias", "weight_shift")


class LayerCache:
    """The design `spec` run on x, every layer's input and pre-lock output kept (`key`: a locked
    design's key, as Emulator(spec, key=...))."""

    def __init__(self, spec, x, key=None, sitemap: SiteMap | None = None):
        self.lock = Emulator(spec, key=key).key or {}
        self.sm = sitemap or SiteMap(spec)
        self.n = len(x)
        self.spec = spec
        self.inputs, self.pre = [], []
        self._run(spec, 0, np.asarray(x, np.int64))
        if not np.array_equal(self.out, Emulator(spec, key=key).run_int(x)):
            raise AssertionError("fault layer cache: cached forward pass differs from the emulator's")

    def _post(self, layer, q):
        from ..techniques.lock.kernel import lock_unit

        return lock_unit(q, *self.lock[layer.name]) if layer.name in self.lock else q

    def _run(self, spec, first: int, q) -> None:
        del self.inputs[first:], self.pre[first:]
        for layer in spec.layers[first:]:
            self.inputs.append(q)
            self.pre.append(KERNELS[layer.kind](q, layer))
            q = self._post(layer, self.pre[-1])
        self.out = q

    @property
    def outputs(self) -> np.ndarray:
        return self.out.reshape(self.n, -1)

    def _column(self, faulty, site: int):
        """(layer index, faulty layer's pre-lock output) recomputed for one flipped site."""
        d = self.sm.decode([site])
        b = self.sm.blocks[int(d["block"][0])]
        li, layer = b.layer, faulty.layers[b.layer]
        if kinds.get(layer.kind).matmul is None or b.param not in COLUMN_PARAMS:
            return li, KERNELS[layer.kind](self.inputs[li], layer)
        cout = layer.params["weight"].shape[-1]
        c = int(d["index"][0]) % cout if b.param == "weight" else int(d["index"][0])
        params = {"weight": layer.params["weight"][..., c:c + 1]}
        for p in ("bias", "weight_shift"):
            if p in layer.params:
                params[p] = layer.params[p][c:c + 1]
        one = replace(layer, params=params, output_shape=tuple(layer.output_shape[:-1]) + (1,))
        pre = self.pre[li].copy()
        pre[..., c] = KERNELS[layer.kind](self.inputs[li], one)[..., 0]
        return li, pre

    def flipped(self, faulty, site: int) -> np.ndarray:
        """Output integers (n, outputs) of `faulty` = the cached design with `site` flipped."""
        li, pre = self._column(faulty, site)
        q = self._post(faulty.layers[li], pre)
        for layer in faulty.layers[li + 1:]:
            q = self._post(layer, KERNELS[layer.kind](q, layer))
        return q.reshape(self.n, -1)

    def commit(self, faulty, site: int) -> np.ndarray:
        """Make `faulty` (the cached design with `site` flipped) the cached design; its outputs."""
        li, pre = self._column(faulty, site)
        self.pre[li] = pre  # its input is unchanged
        self._run(faulty, li + 1, self._post(faulty.layers[li], pre))
        self.spec = faulty
        return self.outputs
