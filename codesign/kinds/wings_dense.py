"""``wings_dense``: a dense layer whose weights a WINGs generator makes (codesign/techniques/wings). Engine:
rtl/wings_gen.sv; hls4ml: the WingsDense extension (codesign/techniques/wings/hls.py, hls/nnet_wings_gen.h)."""
from __future__ import annotations

from ..emulator import wings_gen
from .dense import relu_precision
from .registry import Kind, ModelLayer, register


def macs(layer) -> int:
    """The dense product; the generator's MACs are not counted here."""
    return int(layer.input_shape[-1] * layer.output_shape[-1])


def prepare(layer):
    """The kernel with the weights generated once (a fault campaign runs the layer many times)."""
    from ..techniques.wings.gen import generate_int

    w = generate_int(layer)
    return lambda x: wings_gen(x, layer, w)


def dense_equivalent_bits(layer) -> int:
    """The generated dense layer at the generated weights' width."""
    n = layer.input_shape[-1] * layer.output_shape[-1]
    bias = layer.params["bias"].size * layer.types["bias"].width if "bias" in layer.params else 0
    return n * layer.types["weight"].width + bias


def compression_extra(layer, entry: dict) -> None:
    """Also against the float32 dense layer (weights + bias at 32 bits), and the bits per parameter."""
    n_out = layer.output_shape[-1]
    entry["float32_bits"] = 32 * (layer.input_shape[-1] * n_out + (n_out if "bias" in layer.params else 0))
    entry["ratio_float32"] = entry["float32_bits"] / entry["weight_bits"]
    entry["param_bits"] = {k: int(a.size * layer.types[k].width) for k, a in layer.params.items()}


def hls_twin(layer, x):
    from ..techniques.wings.hls import twin

    return twin(layer, x)


def hls_precision(layer, entry: dict, names: dict, model: dict) -> None:
    from ..techniques.wings.hls import precision

    entry["Precision"] = precision(layer)
    relu_precision(layer, names)


def hls_register() -> None:
    from ..techniques.wings.hls import register as register_wings

    register_wings()


def rtl_shape(layer):
    """The generator's geometry is not padded by the chooser."""
    return (int(layer.input_shape[-1]), int(layer.output_shape[-1]), False)


def rtl_plan(layer, pe, simd, np_, mp):
    from ..rtl.wings import plan_wings

    return plan_wings(layer, pe, simd, np_, mp)


def rtl_images(layer, p) -> dict:
    from ..rtl.wings import wings_images

    return wings_images(layer, p)


def keras_layer(a: dict, x, quantized: bool, name: str):
    """``wings_dense: {units, components, centres, ...}``: a WingsDense (codesign/techniques/wings/layer.py); the
    generator always runs in fixed point, so the float model has a plain Dense in its place."""
    from tensorflow import keras

    if not quantized:
        return keras.layers.Dense(a["units"], name=name)(x)
    from ..techniques.wings.layer import WingsDense

    return WingsDense(a["units"], **{k: v for k, v in a.items() if k not in ("units", "name")}, name=name)(x)


# types: {alpha|beta|z|basis|curve|weight|bias|lut: [W, I]}
CONFIG_KEYS = frozenset({"name", "units", "components", "centres", "coef_sigma", "basis_grid", "in_hw", "pixel_sigma",
                         "types"})

KIND = register(Kind(
    "wings_dense", kernel=wings_gen, macs=macs, prepare=prepare, dense_equivalent_bits=dense_equivalent_bits,
    stored_params=("alpha", "beta", "sv", "klut", "z", "plut", "prow", "pcol", "basis", "bias"), twin="wings_dense",
    model_layer=ModelLayer(CONFIG_KEYS, keras_layer, frozenset({"units"}), neurons=True),
    compression_extra=compression_extra,
    hls_twin=hls_twin, hls_precision=hls_precision, hls_register=hls_register,
    rtl_shape=rtl_shape, rtl_plan=rtl_plan, rtl_images=rtl_images, rtl_own_memories=True,
))
