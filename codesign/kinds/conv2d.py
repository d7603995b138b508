"""``conv2d``: dense on k x k windows (NHWC, 'valid'/'same', strides). Engines: rtl/swg.sv + rtl/mvau.sv."""
from __future__ import annotations

from ..emulator import conv2d_kernel
from .dense import weighted_precision, weighted_twin
from .registry import Kind, register


def macs(layer) -> int:
    kh, kw, cin, cout = layer.params["weight"].shape
    oh, ow, _ = layer.output_shape
    return int(kh * kw * cin * cout * oh * ow)


def rtl_shape(layer) -> dict:
    from ..rtl.conv import conv_geometry

    h, w, cin = layer.input_shape
    oh, ow, cout = layer.output_shape
    g = conv_geometry(layer)
    return {"kind": "conv", "cin": int(cin), "stream_in": int(h * w * cin), "stream_out": int(oh * ow * cout),
            "n": g["kh"] * g["kw"] * g["cin"], "m": g["cout"], "geometry": g}


def rtl_plan(layer, pe, simd, np_, mp, pp: int = 1):
    from ..rtl.conv import plan_conv

    return plan_conv(layer, pe, simd, pp)


def rtl_images(layer, p) -> dict:
    from ..rtl.conv import conv_standin
    from .dense import rtl_images as dense_images

    return dense_images(conv_standin(layer), p)


KIND = register(Kind(
    "conv2d", kernel=conv2d_kernel, macs=macs,
    hls_twin=weighted_twin, hls_precision=weighted_precision,
    rtl_image=True, rtl_shape=rtl_shape, rtl_plan=rtl_plan, rtl_images=rtl_images,
    rtl_check=lambda layer, pe, simd, pp=1: rtl_plan(layer, pe, simd, 0, 0, pp),
))
