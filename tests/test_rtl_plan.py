"""Pure-Python parts of the RTL view: folding choice, padding, memory layout, load-port writes."""
import pytest

from codesign.rtl import folding, generate, load_writes, plan
from codesign.rtl.plan import RTLError, dense_layers, weight_words
from codesign.rtl.random_spec import mnist_like, random_mlp


def test_choose_balances_the_mnist_mlp():
    f = folding.choose([(784, 256), (256, 128), (128, 10)], 512)
    cycles = [(n // x["simd"]) * (m // x["pe"]) for (n, m), x in zip([(784, 256), (256, 128), (128, 10)], f)]
    assert max(cycles) <= 512
    lanes = sum(x["pe"] * x["simd"] for x in f)
    assert (784 * 256 + 256 * 128 + 128 * 10) / lanes / max(cycles) >= 0.95
    for a, b in zip(f, f[1:]):  # neighbouring lane counts divide one another
        assert a["pe"] % b["simd"] == 0 or b["simd"] % a["pe"] == 0


def test_padded_dims_and_incompatible_folding():
    dims = folding.padded_dims([(10, 7), (7, 3)], [{"pe": 3, "simd": 4}, {"pe": 1, "simd": 3}])
    assert dims == [(12, 9), (9, 3)]
    with pytest.raises(ValueError, match="divide one another"):
        folding.padded_dims([(8, 8), (8, 8)], [{"pe": 2, "simd": 2}, {"pe": 1, "simd": 3}])


def test_weight_word_layout():
    spec = random_mlp(0, [6, 4], ternary=False)
    p = plan(spec, [{"pe": 2, "simd": 3}])[0]
    layer = spec.layers[0]
    words = weight_words(layer, p)
    assert len(words) == p.sf * p.nf == 4
    w = layer.params["weight"]
    for of in range(p.nf):
        for sf in range(p.sf):
            word = words[of * p.sf + sf]
            for pe in range(p.pe):
                for s in range(p.simd):
                    code = (word >> ((pe * p.simd + s) * p.WW)) & ((1 << p.WW) - 1)
                    val = code - (1 << p.WW) if code >> (p.WW - 1) else code
                    assert val == w[sf * p.simd + s, of * p.pe + pe]


def test_load_writes_flip_one_word(tmp_path):
    spec = mnist_like(1)
    generate(spec, tmp_path)
    assert load_writes(spec, tmp_path) == []
    faulty = spec.copy()
    faulty.layers[0].params["weight"][100, 7] ^= 1
    writes = load_writes(faulty, tmp_path)
    assert len(writes) == 1 and writes[0][0] == 0


def test_unsupported_layer_is_refused():
    spec = random_mlp(0, [4, 2])
    spec.layers[0].kind = "upsample2d"  # a kind no engine implements
    with pytest.raises(RTLError, match="not .upsample2d."):
        dense_layers(spec)


def _kron_mlp(seed: int = 0):
    """The Kronecker example's shapes (784 =28x28 -> 256 =16x16 rank 2 -> 128 -> 10), random integers."""
    import numpy as np

    from codesign.rtl.random_spec import INPUT_TYPE, random_dense, random_kron
    from codesign.spec import DesignSpec

    rng = np.random.default_rng(seed)
    k = random_kron(rng, "kron0", 28, 28, 16, 16, 2, INPUT_TYPE, relu=True, factor_bits=(8, 8))
    d1 = random_dense(rng, "dense1", 256, 128, k.out_type, relu=True, ternary=True)
    d2 = random_dense(rng, "dense2", 128, 10, d1.out_type, relu=False, exact_output=True)
    spec = DesignSpec("kron_like", (784,), INPUT_TYPE, [k, d1, d2])
    spec.validate()
    return spec


@pytest.mark.parametrize("make, target, slowest", [(mnist_like, 512, 512), (mnist_like, 256, 256),
                                                   (_kron_mlp, 512, 352)])
def test_chooser_keeps_every_engine_busy(make, target, slowest):
    """MAC utilization (MACs / lanes / slowest engine) >= 0.95 at the MLP's default and a faster target and
    the Kronecker MLP's default, whose engine takes 352 cycles at its 16 x 7 folding (its MAC slots: stage
    2's first reads need no mid word of stage 1's last rows; at 8 x 14 the pipelined MAC and the registered
    mid cast would need 2 drain slots): the dense layers are balanced to ~352 (zero-padded where no divisor
    lands there) rather than the kron engine idling at 512."""
    spec = make(0)
    plans = plan(spec, target_cycles=target)
    cycles = max(p.cycles for p in plans)
    util = spec.total_macs() / sum(p.lanes for p in plans) / cycles
    assert cycles == slowest and util >= 0.95, ([(p.pe, p.simd, p.cycles) for p in plans], util)
