"""``kron_dense``: separable FC, Y = sum_r B_r X A_r^T (codesign/techniques/kron). Engine: rtl/kron_matvec.sv;
hls4ml: the KronDense extension (codesign/techniques/kron/hls.py, hls/nnet_kron_matvec.h)."""
from __future__ import annotations

import numpy as np

from ..emulator import kron_matvec
from .dense import relu_precision
from .registry import Kind, ModelLayer, register

# the factor and bias quantizers of a kron_dense entry that does not give `kernel` / `bias`
# (its dense reference, codesign/techniques/kron/reference.py, takes the same)
FACTOR_QUANTIZER = {"bits": 8, "integer": 0}
BIAS_QUANTIZER = {"bits": 8, "integer": 3}


def macs(layer) -> int:
    a = layer.attrs
    return int(a["rank"] * (a["n2"] * a["n1"] * a["m1"] + a["m2"] * a["n2"] * a["m1"]))


def dense_equivalent_bits(layer) -> int:
    """Bits of the dense layer it replaces, weights at the factors' width."""
    at = layer.attrs
    width = max(layer.types["a"].width, layer.types["b"].width)
    bias = layer.params["bias"].size * layer.types["bias"].width if "bias" in layer.params else 0
    return at["n1"] * at["n2"] * at["m1"] * at["m2"] * width + bias


def hls_twin(layer, x):
    """Float KronDense with the spec's factor values (+ a zero bias when the spec has none)."""
    from tensorflow import keras

    from ..fixed import FixedType, to_real
    from ..techniques.kron.layer import KronDense

    at, t = layer.attrs, layer.types
    if t["mid"].frac < t["input"].frac + t["a"].frac:
        raise ValueError(f"hls4ml view: layer {layer.name!r} rounds its intermediate (mid {t['mid'].hls()}); "
                         "nnet_kron_matvec.h accumulates stage 1 in mid_t and needs it exact")
    k = KronDense([at["n2"], at["n1"]], [at["m2"], at["m1"]], rank=at["rank"], factor_bits=None, bias_bits=None,
                  name=layer.name)
    x = k(x)
    bias = layer.params.get("bias", np.zeros(at["m1"] * at["m2"], np.int64))
    bias_t = t.get("bias", FixedType(1, 1))
    k.set_weights([to_real(layer.params["a"], t["a"]).astype(np.float32),
                   to_real(layer.params["b"], t["b"]).astype(np.float32),
                   to_real(bias, bias_t).astype(np.float32)])
    if layer.attrs.get("activation") == "relu":
        x = keras.layers.Activation("relu", name=f"{layer.name}_relu")(x)
    return x


def hls_precision(layer, entry: dict, names: dict, model: dict) -> None:
    from ..fixed import FixedType

    t = layer.types
    acc = t["accum"].hls()
    entry["Precision"] = {"a": t["a"].hls(), "b": t["b"].hls(), "mid": t["mid"].hls(), "accum": acc,
                          "result": acc, "bias": t.get("bias", FixedType(1, 1)).hls()}
    relu_precision(layer, names)


def hls_register() -> None:
    from ..techniques.kron.hls import register as register_kron

    register_kron()


def rtl_shape(layer) -> dict:
    from ..rtl.kron import kron_dims

    return kron_dims(layer)


def rtl_plan(layer, pe, simd, np_, mp):
    from ..rtl.kron import plan_kron

    return plan_kron(layer, pe, simd)


def rtl_images(layer, p) -> dict:
    from ..rtl.kron import a_words, b_words, kron_param_words

    return {"a": (a_words(layer, p), p.pe * p.simd * p.AW), "b": (b_words(layer, p), p.simd * p.BW),
            "p": (kron_param_words(layer, p), p.p_word)}


def keras_layer(a: dict, x, quantized: bool, name: str):
    """``kron_dense: {in_factors, out_factors, rank, kernel, bias, sparsity, condition}``: a KronDense
    (float factors when not `quantized`)."""
    from ..techniques.kron.layer import KronDense

    fq = a.get("kernel", FACTOR_QUANTIZER)
    bq = a.get("bias", BIAS_QUANTIZER)
    return KronDense(a["in_factors"], a["out_factors"], rank=a.get("rank", 1),
                     factor_bits=fq["bits"] if quantized else None, factor_integer=fq.get("integer", 0),
                     bias_bits=bq["bits"] if quantized and bq else None,
                     bias_integer=bq.get("integer", 0) if bq else 0, use_bias=bq is not None,
                     sparsity=a.get("sparsity", 0.0), condition=a.get("condition", 0.0), name=name)(x)


def check_config(i: int, args: dict) -> None:
    from ..errors import ConfigError

    for key in ("in_factors", "out_factors"):
        v = args[key]
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(n, int) and n > 0 for n in v)):
            raise ConfigError(f"model.layers[{i}] (kron_dense).{key} must be two positive integers [rows, cols], "
                              f"got {v!r}")
    if isinstance(args.get("kernel"), str):
        raise ConfigError(f"model.layers[{i}] (kron_dense).kernel: factors take {{bits: B, integer: I}}, "
                          f"not {args['kernel']!r}")


KIND = register(Kind(
    "kron_dense", kernel=kron_matvec, macs=macs, dense_equivalent_bits=dense_equivalent_bits,
    stored_params=("a", "b", "bias"), twin="kron_dense",
    model_layer=ModelLayer(frozenset({"name", "in_factors", "out_factors", "rank", "kernel", "bias", "sparsity",
                                      "condition"}), keras_layer, frozenset({"in_factors", "out_factors"}),
                           check_config, neurons=True),
    hls_twin=hls_twin, hls_precision=hls_precision, hls_register=hls_register,
    rtl_shape=rtl_shape, rtl_plan=rtl_plan, rtl_images=rtl_images, rtl_own_memories=True,
    rtl_check=lambda layer, pe, simd: rtl_plan(layer, pe, simd, 0, 0),
))
