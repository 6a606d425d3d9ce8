"""Writes tests/fixtures/ops/keras_ops.npz: Keras 3 results of `keras.ops` calls whose exact
definition is not obvious (ties, NaN handling, padding conventions, clipping, CTC, STFT, ...).

It also writes tests/fixtures/ops/keras_ops_signatures.json (the parameters of every keras.ops
function) and tests/fixtures/ops/keras_backend.json: `keras.backend`'s dtype promotion table
(`result_type` of every pair of dtypes and Python types) and `standardize_dtype` results.

Run by hand in a scratch environment that has Keras (never in CI):

    KERAS_BACKEND=jax python tools/make_ops_fixtures.py

Each case is a function `case(ops, *inputs)` written against the `keras.ops` API, so the test
(tests/support/test_ops_more.py) runs the very same function with `rnnkit.ops` on the stored inputs and
compares. Inputs are made here from a fixed seed and stored next to the outputs
(`<case>/in_<i>`, `<case>/out_<j>`). To keep the file small, all arrays are packed into one
byte buffer (`buffer`) with a JSON index (`index`: name -> dtype, shape, offset); `load`
unpacks them.
"""

from __future__ import annotations

import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                   "fixtures", "ops", "keras_ops.npz")
BACKEND_OUT = os.path.join(os.path.dirname(OUT), "keras_backend.json")
SIGNATURES_OUT = os.path.join(os.path.dirname(OUT), "keras_ops_signatures.json")

# keras.backend dtype helpers: the arguments tried (Python types by name).
DTYPE_NAMES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
               "bfloat16", "float16", "float32", "float64"]
PY_TYPES = {"<int>": int, "<float>": float, "<bool>": bool}
STANDARDIZE_ARGS = ["float32", "int64", "bool", "<int>", "<float>", "<bool>", "float", "int",
                    "double", "uint8", "bfloat16", "string", "nonsense"]


def _inputs():
    r = np.random.default_rng(1234)
    f32 = lambda *s: r.standard_normal(s).astype("float32")  # noqa: E731
    ties = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, -1.0, 5.0, 5.0, 1.0]], "float32")
    with_nan = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [2.0, -1.0, np.nan]],
                        "float32")
    spd = f32(3, 4, 4)
    spd = np.einsum("bij,bkj->bik", spd, spd) + 4 * np.eye(4, dtype="float32")
    ctc_logits = f32(2, 8, 5)
    ctc_target = np.array([[1, 2, 2, 0], [3, 1, 0, 0]], "int32")
    return {
        # elementwise and dtype rules
        "erf": (np.linspace(-3, 3, 13).astype("float32"),),
        "erfinv": (np.linspace(-0.99, 0.99, 11).astype("float32"),),
        "rsqrt": (np.array([0.25, 1.0, 4.0, 9.0], "float32"),),
        "int_to_float": (np.arange(1, 6, dtype="int32"),),
        "nan_to_num": (np.array([np.nan, np.inf, -np.inf, 1.5], "float32"),),
        "nan_to_num_values": (np.array([np.nan, np.inf, -np.inf, 1.5], "float32"),),
        "divide_no_nan": (np.array([1.0, 2.0, 0.0, -3.0], "float32"),
                          np.array([0.0, 4.0, 0.0, 2.0], "float32")),
        "isclose": (np.array([1.0, 1.00001, np.nan, 2.0], "float32"),
                    np.array([1.0, 1.0, np.nan, 2.1], "float32")),
        "sinc_i0_cbrt": (np.array([-2.0, -0.5, 0.0, 0.3, 1.0], "float32"),),
        "saturate_cast": (np.array([-300.0, -1.5, 0.0, 127.9, 255.5, 1e5], "float32"),),
        "logaddexp_hypot_arctan2": (f32(2, 3), f32(2, 3)),
        "fmod_fmax": (np.array([5.0, -5.0, np.nan, 2.5], "float32"),
                      np.array([3.0, 3.0, 1.0, np.nan], "float32")),
        # sorting, selection and counting
        "top_k_ties": (ties,),
        "top_k_unsorted": (ties,),
        "in_top_k_ties": (np.array([2, 3], "int32"), ties),
        "sort_argsort": (ties,),
        "searchsorted": (np.array([1.0, 2.0, 2.0, 4.0], "float32"),
                         np.array([0.0, 2.0, 3.0, 5.0], "float32")),
        "digitize": (np.array([0.5, 1.0, 2.5, 7.0], "float32"),
                     np.array([1.0, 2.0, 3.0], "float32")),
        "bincount": (np.array([0, 1, 1, 3, 1], "int32"), np.array([0.5, 1, 2, 3, 4], "float32")),
        "count_nonzero": (np.array([[0, 1, 2], [0, 0, 3]], "int32"),),
        "unique": (np.array([3, 1, 2, 3, 1], "int32"),),
        "histogram": (np.array([0.1, 0.4, 0.45, 0.9, 1.0, 0.0], "float32"),),
        # NaN-aware reductions
        "nan_reductions": (with_nan,),
        "nanargmax": (with_nan,),
        "quantiles": (f32(3, 7),),
        "median_axis": (f32(4, 6),),
        "average_weights": (f32(3, 4), np.array([1.0, 2.0, 0.5, 1.5], "float32")),
        "ptp_trapezoid": (f32(3, 5),),
        "cumprod": (np.array([[1.0, 2.0, 0.0, 3.0], [0.5, 2.0, 2.0, -1.0]], "float32"),),
        # shapes and products
        "diag_trace": (f32(4, 4),),
        "diag_build": (np.array([1.0, 2.0, 3.0], "float32"),),
        "kron_cross": (f32(2, 3), f32(2, 3)),
        "correlate": (np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32"),
                      np.array([0.5, -1.0, 2.0], "float32")),
        "correlate_short_first": (np.array([0.5, -1.0], "float32"),
                                  np.array([1.0, 2.0, 3.0, 4.0], "float32")),
        "roll_rot90": (f32(3, 4),),
        "stacks": (f32(2, 3), f32(2, 3)),
        "meshgrid": (np.array([1.0, 2.0, 3.0], "float32"), np.array([4.0, 5.0], "float32")),
        "corrcoef": (f32(3, 6),),
        "vander": (np.array([1.0, 2.0, 3.0], "float32"),),
        "rearrange": (f32(2, 6, 3),),
        "windows": (),
        "spaces": (),
        # segments and scatter
        "segments": (f32(6, 2), np.array([0, 0, 2, 2, 2, 0], "int32")),
        "scatter": (np.array([[0, 1], [2, 0], [0, 1]], "int32"), f32(3)),
        "scatter_update": (f32(3, 4), np.array([[0, 1], [2, 3]], "int32"), f32(2)),
        "slice_update": (f32(4, 5), f32(2, 2)),
        # nn
        "binary_crossentropy": (np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]], "float32"),
                                np.array([[0.0, 0.9, 1.0], [0.3, 0.2, 0.5]], "float32")),
        "binary_crossentropy_logits": (np.array([[0.0, 1.0, 1.0]], "float32"), f32(1, 3)),
        "categorical_crossentropy": (np.eye(4, dtype="float32")[[0, 2, 3]],
                                     np.abs(f32(3, 4)) + 0.1),
        "sparse_categorical_crossentropy": (np.array([0, 2, 3], "int32"), f32(3, 4)),
        "normalizations": (f32(2, 3, 4), f32(4), f32(4)),
        "batch_normalization": (f32(2, 3, 4), f32(3), np.abs(f32(3)) + 0.5, f32(3), f32(3)),
        "multi_hot": (np.array([[0, 2, 2], [1, 1, 3]], "int32"),),
        "psnr": (np.abs(f32(2, 8)), np.abs(f32(2, 8))),
        "sparsemax": (f32(3, 5),),
        "dot_product_attention": (f32(2, 3, 2, 4), f32(2, 5, 2, 4), f32(2, 5, 2, 4)),
        "dot_product_attention_masked": (f32(1, 4, 2, 3), f32(1, 4, 2, 3), f32(1, 4, 2, 3),
                                         np.array([[[[1, 1, 0, 1]]]], bool), f32(1, 2, 4, 4)),
        "dot_product_attention_gqa": (f32(1, 3, 4, 2), f32(1, 3, 2, 2), f32(1, 3, 2, 2)),
        "ctc_loss": (ctc_target, ctc_logits, np.array([4, 2], "int32"),
                     np.array([8, 6], "int32")),
        "ctc_decode_greedy": (ctc_logits, np.array([8, 6], "int32")),
        "ctc_decode_beam": (ctc_logits, np.array([8, 6], "int32")),
        "depth_space": (f32(1, 2, 2, 8),),
        # math
        "fft": (f32(2, 8), f32(2, 8)),
        "rfft_irfft": (f32(2, 8),),
        "stft_istft": (f32(2, 32),),
        "extract_sequences": (f32(2, 10),),
        "cdist_logdet": (f32(3, 2), f32(4, 2), spd),
        # linalg
        "linalg_basic": (spd, f32(3, 4, 2)),
        "linalg_factor": (spd,),
        "lu_factor": (f32(4, 4),),
        "svd_pinv": (f32(4, 3),),
        "lstsq": (f32(5, 3), f32(5, 2)),
        "solve_triangular": (spd, f32(3, 4, 2)),
        # edge cases
        "unique_size": (np.array([4, 1, 4, 2], "int32"),),
        "nonzero_unravel": (np.array([[0, 3, 0], [1, 0, 2]], "int32"),),
        "segments_unsorted": (f32(5, 2), np.array([2, 0, -1, 2, 1], "int32")),
        "in_top_k_nan": (np.array([0, 1], "int32"),
                         np.array([[np.nan, 1.0, 0.0], [0.0, 2.0, np.nan]], "float32")),
        "top_k_zero": (ties,),
        "saturate_cast_int": (np.array([-300, -5, 0, 100, 300], "int32"),),
        "nan_to_num_int": (np.array([1, 2, 3], "int32"),),
        "cross_axes": (f32(3, 2), f32(2, 3)),
        "round_decimals": (np.array([0.125, -1.375, 2.5, 3.5, -0.5], "float32"),),
        "clip_minmax": (f32(3, 4),),
        "logsumexp_inf": (np.array([[-np.inf, -np.inf], [0.0, np.inf], [1.0, 2.0]], "float32"),),
    }


def _cases():
    """{name: case(ops, *inputs)} in the keras.ops API (shared with the test)."""
    return {
        "erf": lambda ops, x: (ops.erf(x), ops.erfc(x) if hasattr(ops, "erfc") else ops.erf(x)),
        "erfinv": lambda ops, x: ops.erfinv(x),
        "rsqrt": lambda ops, x: ops.rsqrt(x),
        "int_to_float": lambda ops, x: (ops.arcsinh(x), ops.cbrt(x),
                                        ops.deg2rad(x), ops.median(x)),
        "nan_to_num": lambda ops, x: ops.nan_to_num(x),
        "nan_to_num_values": lambda ops, x: ops.nan_to_num(x, nan=-1.0, posinf=9.0,
                                                           neginf=-9.0),
        "divide_no_nan": lambda ops, a, b: ops.divide_no_nan(a, b),
        "isclose": lambda ops, a, b: (ops.isclose(a, b), ops.isclose(a, b, equal_nan=True),
                                      ops.isclose(a, b, rtol=0.1)),
        "sinc_i0_cbrt": lambda ops, x: (ops.sinc(x), ops.i0(x), ops.cbrt(x), ops.signbit(x),
                                        ops.trunc(x * 3)),
        "saturate_cast": lambda ops, x: (ops.saturate_cast(x, "uint8"),
                                         ops.saturate_cast(x, "int8"),
                                         ops.saturate_cast(x, "int16")),
        "logaddexp_hypot_arctan2": lambda ops, a, b: (ops.logaddexp(a, b),
                                                      ops.logaddexp2(a, b), ops.hypot(a, b),
                                                      ops.arctan2(a, b)),
        "fmod_fmax": lambda ops, a, b: (ops.fmod(a, b), ops.fmax(a, b), ops.fmin(a, b)),
        "top_k_ties": lambda ops, x: ops.top_k(x, 3),
        "top_k_unsorted": lambda ops, x: ops.top_k(x, 3, sorted=False)[0],
        "in_top_k_ties": lambda ops, t, p: (ops.in_top_k(t, p, 1), ops.in_top_k(t, p, 2)),
        "sort_argsort": lambda ops, x: (ops.sort(x), ops.sort(x, axis=0), ops.argsort(x)),
        "searchsorted": lambda ops, s, v: (ops.searchsorted(s, v),
                                           ops.searchsorted(s, v, side="right")),
        "digitize": lambda ops, x, b: ops.digitize(x, b),
        "bincount": lambda ops, x, w: (ops.bincount(x), ops.bincount(x, weights=w),
                                       ops.bincount(x, minlength=6)),
        "count_nonzero": lambda ops, x: (ops.count_nonzero(x), ops.count_nonzero(x, axis=1)),
        "unique": lambda ops, x: ops.unique(x, return_inverse=True, return_counts=True),
        "histogram": lambda ops, x: ops.histogram(x, bins=4),
        "nan_reductions": lambda ops, x: (ops.nansum(x), ops.nansum(x, axis=1),
                                          ops.nanmean(x, axis=0), ops.nanmax(x, axis=1),
                                          ops.nanmin(x, axis=0), ops.nanprod(x, axis=1),
                                          ops.nanvar(x, axis=0), ops.nanstd(x, axis=0),
                                          ops.nancumsum(x, axis=1),
                                          ops.nancumprod(x, axis=1),
                                          ops.nanmedian(x, axis=1),
                                          ops.nanquantile(x, 0.25, axis=0),
                                          ops.nanpercentile(x, 75.0, axis=0)),
        "nanargmax": lambda ops, x: (ops.nanargmax(x, axis=1), ops.nanargmin(x, axis=1)),
        "quantiles": lambda ops, x: tuple(
            ops.quantile(x, np.array([0.1, 0.5, 0.9], "float32"), axis=1, method=m)
            for m in ("linear", "lower", "higher", "midpoint", "nearest")) + (
            ops.percentile(x, 30.0), ops.quantile(x, 0.4, axis=0, keepdims=True)),
        "median_axis": lambda ops, x: (ops.median(x), ops.median(x, axis=0),
                                       ops.median(x, axis=1, keepdims=True)),
        "average_weights": lambda ops, x, w: (ops.average(x), ops.average(x, axis=1, weights=w),
                                              ops.average(x, axis=0)),
        "ptp_trapezoid": lambda ops, x: (ops.ptp(x, axis=1), ops.trapezoid(x),
                                         ops.trapezoid(x, dx=0.5, axis=0),
                                         ops.trapezoid(x, x=np.array(
                                             [0.0, 0.5, 1.5, 2.0, 4.0], "float32"))),
        "cumprod": lambda ops, x: (ops.cumprod(x, axis=1), ops.cumprod(x)),
        "diag_trace": lambda ops, x: (ops.diagonal(x), ops.diagonal(x, offset=1),
                                      ops.diag(x, k=-1), ops.trace(x), ops.trace(x, offset=-2)),
        "diag_build": lambda ops, x: (ops.diag(x), ops.diag(x, k=1), ops.diagflat(x, k=-1)),
        "kron_cross": lambda ops, a, b: (ops.kron(a, b), ops.cross(a, b), ops.vdot(a, b),
                                         ops.cross(a[:, :2], b[:, :2])),
        "correlate": lambda ops, a, v: (ops.correlate(a, v), ops.correlate(a, v, mode="same"),
                                        ops.correlate(a, v, mode="full")),
        "correlate_short_first": lambda ops, a, v: (ops.correlate(a, v),
                                                    ops.correlate(a, v, mode="same"),
                                                    ops.correlate(a, v, mode="full")),
        "roll_rot90": lambda ops, x: (ops.roll(x, 2), ops.roll(x, -1, axis=1), ops.rot90(x),
                                      ops.rot90(x, k=3), ops.fliplr(x), ops.flipud(x),
                                      ops.diff(x), ops.diff(x, n=2, axis=0)),
        "stacks": lambda ops, a, b: (ops.hstack([a, b]), ops.vstack([a, b]),
                                     ops.dstack([a, b]), ops.hsplit(a, 3)[1],
                                     ops.vsplit(a, 2)[0]),
        "meshgrid": lambda ops, a, b: tuple(ops.meshgrid(a, b)) + tuple(
            ops.meshgrid(a, b, indexing="ij")),
        "corrcoef": lambda ops, x: ops.corrcoef(x),
        "vander": lambda ops, x: (ops.vander(x), ops.vander(x, N=4, increasing=True)),
        "rearrange": lambda ops, x: (ops.rearrange(x, "b (h w) c -> b h w c", h=2),
                                     ops.rearrange(x, "b t c -> c (b t)")),
        "windows": lambda ops: (ops.bartlett(5), ops.blackman(5), ops.hamming(6),
                                ops.hanning(6), ops.kaiser(6, 4.0)),
        "spaces": lambda ops: (ops.geomspace(1.0, 100.0, num=5), ops.logspace(0.0, 2.0, num=4),
                               ops.logspace(0.0, 3.0, num=4, base=2, endpoint=False)),
        "segments": lambda ops, d, s: (ops.segment_sum(d, s, num_segments=3),
                                       ops.segment_max(d, s, num_segments=3),
                                       ops.segment_sum(d, s, num_segments=4),
                                       ops.segment_max(d, s, num_segments=4)),
        "scatter": lambda ops, i, v: ops.scatter(i, v, (3, 2)),
        "scatter_update": lambda ops, x, i, u: ops.scatter_update(x, i, u),
        "slice_update": lambda ops, x, u: ops.slice_update(x, (1, 2), u),
        "binary_crossentropy": lambda ops, t, o: ops.binary_crossentropy(t, o),
        "binary_crossentropy_logits": lambda ops, t, o: ops.binary_crossentropy(
            t, o, from_logits=True),
        "categorical_crossentropy": lambda ops, t, o: (
            ops.categorical_crossentropy(t, o), ops.categorical_crossentropy(
                t, o, from_logits=True)),
        "sparse_categorical_crossentropy": lambda ops, t, o: (
            ops.sparse_categorical_crossentropy(t, o, from_logits=True),
            ops.sparse_categorical_crossentropy(t, ops.softmax(o))),
        "normalizations": lambda ops, x, g, b: (
            ops.layer_normalization(x, g, b), ops.layer_normalization(x, axis=(1, 2)),
            ops.layer_normalization(x, g, rms_scaling=True), ops.rms_normalization(x, g),
            ops.rms_normalization(x, axis=(1, 2), epsilon=0.1)),
        "batch_normalization": lambda ops, x, m, v, o, s: (
            ops.batch_normalization(x, m, v, axis=1, offset=o, scale=s),
            ops.batch_normalization(x, m, v, axis=1, epsilon=0.1)),
        "multi_hot": lambda ops, x: (ops.multi_hot(x, 5), ops.multi_hot(x[0], num_classes=4)),
        "psnr": lambda ops, a, b: ops.psnr(a, b, 2.0),
        # Keras' sparsemax is right only where one entry is in the support (with more, its
        # threshold sums the cumulative sums: the outputs are all zero); test that case here
        # and the definition in the test.
        "sparsemax": lambda ops, x: ops.sparsemax(x * 3, axis=0),
        "dot_product_attention": lambda ops, q, k, v: (
            ops.dot_product_attention(q, k, v), ops.dot_product_attention(q, k, v, scale=0.3)),
        "dot_product_attention_masked": lambda ops, q, k, v, m, b: (
            ops.dot_product_attention(q, k, v, mask=m),
            ops.dot_product_attention(q, k, v, is_causal=True),
            ops.dot_product_attention(q, k, v, bias=b)),
        "dot_product_attention_gqa": lambda ops, q, k, v: ops.dot_product_attention(q, k, v),
        "ctc_loss": lambda ops, t, o, tl, ol: ops.ctc_loss(t, o, tl, ol),
        "ctc_decode_greedy": lambda ops, x, n: (
            ops.ctc_decode(x, n) + ops.ctc_decode(x, n, merge_repeated=False)),
        "ctc_decode_beam": lambda ops, x, n: ops.ctc_decode(x, n, strategy="beam_search",
                                                            beam_width=4, top_paths=2),
        "depth_space": lambda ops, x: (ops.depth_to_space(x, 2), ops.space_to_depth(
            ops.depth_to_space(x, 2), 2), ops.depth_to_space(
                ops.transpose(x, (0, 3, 1, 2)), 2, data_format="channels_first")),
        "fft": lambda ops, re, im: ops.fft((re, im)) + ops.fft2(
            (ops.reshape(re, (4, 4)), ops.reshape(im, (4, 4)))) + ops.ifft2(
            (ops.reshape(re, (4, 4)), ops.reshape(im, (4, 4)))),
        "rfft_irfft": lambda ops, x: ops.rfft(x) + ops.rfft(x, fft_length=6) + (
            ops.irfft(ops.rfft(x)), ops.irfft(ops.rfft(x), fft_length=7)),
        "stft_istft": lambda ops, x: ops.stft(x, 8, 4, 8) + ops.stft(
            x, 6, 3, 8, window="hamming", center=False) + (
            ops.istft(ops.stft(x, 8, 4, 8), 8, 4, 8),
            ops.istft(ops.stft(x, 8, 2, 8, window=None), 8, 2, 8, window=None, length=30)),
        "extract_sequences": lambda ops, x: (ops.extract_sequences(x, 4, 2),
                                             ops.extract_sequences(x, 3, 3)),
        "cdist_logdet": lambda ops, a, b, s: (ops.cdist(a, b), ops.logdet(s)),
        "linalg_basic": lambda ops, a, b: (ops.inv(a), ops.det(a), ops.solve(a, b),
                                           ops.slogdet(a)[1], ops.cholesky(a),
                                           ops.cholesky_inverse(ops.cholesky(a[0])),
                                           ops.matrix_rank(a)),
        "linalg_factor": lambda ops, a: (ops.eigh(a)[0], ops.svd(a, compute_uv=False),
                                         ops.norm(a, axis=(-2, -1)),
                                         ops.cholesky(a, upper=True)),
        "lu_factor": lambda ops, a: ops.lu_factor(a),
        "svd_pinv": lambda ops, a: (ops.pinv(a), ops.svd(a, compute_uv=False)),
        "lstsq": lambda ops, a, b: ops.lstsq(a, b),
        "solve_triangular": lambda ops, a, b: (ops.solve_triangular(a, b, lower=True),
                                               ops.solve_triangular(a, b)),
        "unique_size": lambda ops, x: ops.unique(x, size=5, fill_value=-1, return_counts=True),
        "nonzero_unravel": lambda ops, x: ops.nonzero(x) + ops.unravel_index(
            ops.convert_to_tensor(np.array([1, 5], "int32")), (2, 3)),
        "segments_unsorted": lambda ops, d, s: (ops.segment_sum(d, s, num_segments=3),
                                                ops.segment_max(d, s, num_segments=3)),
        "in_top_k_nan": lambda ops, t, p: ops.in_top_k(t, p, 2),
        "top_k_zero": lambda ops, x: ops.top_k(x, 0),
        "saturate_cast_int": lambda ops, x: (ops.saturate_cast(x, "uint8"),
                                             ops.saturate_cast(x, "int8")),
        "nan_to_num_int": lambda ops, x: ops.nan_to_num(x),
        "cross_axes": lambda ops, a, b: ops.cross(a, b, axisa=0, axisb=1),
        "round_decimals": lambda ops, x: (ops.round(x), ops.round(x, 2), ops.round(x * 100, -1)),
        "clip_minmax": lambda ops, x: (ops.clip(x, -0.5, 0.5), ops.max(x, axis=0, initial=0.7),
                                       ops.min(x, axis=1, initial=-0.2)),
        "logsumexp_inf": lambda ops, x: ops.logsumexp(x, axis=1),
    }


CASES = _cases()
INPUTS_SEED = 1234


def _grad_inputs():
    ties = np.array([[1.0, 3.0, 3.0, 2.0], [0.0, 0.0, 5.0, 5.0], [2.0, 2.0, 2.0, 2.0]],
                    "float32")
    with_zero = np.array([[1.0, 2.0, 0.0, 3.0], [0.5, 0.0, 0.0, -1.0], [2.0, -1.0, 0.5, 1.5]],
                         "float32")
    return {"ties": ties, "with_zero": with_zero,
            "smooth": np.random.default_rng(99).standard_normal((3, 4)).astype("float32")}


# Gradients at kinks and ties, where the convention is a choice: (case(ops, x), input name).
# The fixture stores d/dx of sum(case(x) * w) for w = 1 + 0.1 * arange.
GRAD_CASES = {
    "sort_ties": (lambda ops, x: ops.sort(x), "ties"),
    "top_k_ties": (lambda ops, x: ops.top_k(x, 2)[0], "ties"),
    "median_ties": (lambda ops, x: ops.median(x, axis=1), "ties"),
    "quantile_ties": (lambda ops, x: ops.quantile(x, 0.4, axis=1), "ties"),
    "nanmax_ties": (lambda ops, x: ops.nanmax(x, axis=1), "ties"),
    "ptp_ties": (lambda ops, x: ops.ptp(x, axis=1), "ties"),
    "segment_max_ties": (lambda ops, x: ops.segment_max(
        x, np.array([0, 0, 1], "int32"), num_segments=2), "ties"),
    "fmax_ties": (lambda ops, x: ops.fmax(x, x[::-1]), "ties"),
    "cumprod_zeros": (lambda ops, x: ops.cumprod(x, axis=1), "with_zero"),
    "nanprod_zeros": (lambda ops, x: ops.nanprod(x, axis=1), "with_zero"),
    "divide_no_nan_zero": (lambda ops, x: ops.divide_no_nan(x + 1.0, x), "with_zero"),
    "cbrt_zero": (lambda ops, x: ops.cbrt(x + 1.0), "with_zero"),
    "sinc_zero": (lambda ops, x: ops.sinc(x), "with_zero"),
    "hypot": (lambda ops, x: ops.hypot(x, x * 0.5 + 1.0), "with_zero"),
    "cdist": (lambda ops, x: ops.cdist(x, x[:2] + 0.5), "smooth"),
    "sparsemax_single": (lambda ops, x: ops.sparsemax(x * 3, axis=0), "smooth"),
    "layer_normalization": (lambda ops, x: ops.layer_normalization(x), "smooth"),
    "binary_crossentropy_clip": (lambda ops, x: ops.binary_crossentropy(
        np.full((3, 4), 0.7, "float32"), ops.clip(x, 0.0, 1.0)), "with_zero"),
    "categorical_crossentropy": (lambda ops, x: ops.categorical_crossentropy(
        np.eye(4, dtype="float32")[[0, 2, 3]], ops.abs(x) + 0.1), "smooth"),
    "ctc_loss": (lambda ops, x: ops.ctc_loss(np.array([[1, 2], [2, 0], [3, 1]], "int32"),
                                             ops.reshape(ops.tile(x, (1, 2)), (3, 2, 4)),
                                             np.array([2, 1, 2], "int32"),
                                             np.array([2, 2, 2], "int32")), "smooth"),
    "logdet": (lambda ops, x: ops.logdet(ops.matmul(x[:, :3], ops.transpose(x[:, :3])) +
                                         np.eye(3, dtype="float32")), "smooth"),
    "eigh_values": (lambda ops, x: ops.eigh(ops.matmul(x, ops.transpose(x)))[0], "smooth"),
    "svd_values": (lambda ops, x: ops.svd(x, compute_uv=False), "smooth"),
    "nan_to_num": (lambda ops, x: ops.nan_to_num(ops.log(x)), "with_zero"),
}


def _grad_weights(shape):
    return (1.0 + 0.1 * np.arange(int(np.prod(shape)))).reshape(shape).astype("float32")


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [np.asarray(o) for o in out]
    return [np.asarray(out)]


def pack(arrays):
    """{name: array} -> (uint8 buffer, JSON index)."""
    index, chunks, offset = {}, [], 0
    for name, a in arrays.items():
        a = np.array(a, order="C")
        if a.dtype.kind == "U":
            a = a.astype("S")
        raw = a.tobytes()
        index[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset,
                       "nbytes": len(raw)}
        chunks.append(raw)
        offset += len(raw)
    return np.frombuffer(b"".join(chunks), dtype=np.uint8), json.dumps(index)


def load(path=OUT):
    """The fixture file as {name: array}."""
    with np.load(path) as data:
        buffer = data["buffer"].tobytes()
        index = json.loads(str(data["index"]))
        version = str(data["keras_version"])
    arrays = {name: np.frombuffer(buffer[e["offset"]:e["offset"] + e["nbytes"]],
                                  dtype=np.dtype(e["dtype"])).reshape(e["shape"]).copy()
              for name, e in index.items()}
    return version, arrays


def backend_fixture(keras):
    """keras.backend's dtype rules: result_type of every pair (and with Python int/float),
    standardize_dtype, is_float_dtype / is_int_dtype; errors recorded as "error"."""
    B = keras.backend

    def arg(name):
        return PY_TYPES.get(name, name)

    def attempt(fn, *args):
        try:
            return fn(*args)
        except ValueError:
            return "error"

    names = DTYPE_NAMES + list(PY_TYPES)
    table = {}
    for i, a in enumerate(names):
        for b in names[i:]:
            table[f"{a},{b}"] = attempt(B.result_type, arg(a), arg(b))
    for a in names:
        table[a] = attempt(B.result_type, arg(a))
    table[""] = B.result_type()
    return {"keras_version": keras.__version__, "result_type": table,
            "standardize_dtype": {a: attempt(B.standardize_dtype, arg(a))
                                  for a in STANDARDIZE_ARGS},
            "is_float_dtype": {a: B.is_float_dtype(a) for a in DTYPE_NAMES},
            "is_int_dtype": {a: B.is_int_dtype(a) for a in DTYPE_NAMES}}


def signatures(keras):
    """{op name: [[parameter, kind, repr(default) or None], ...]} for every keras.ops function."""
    import inspect
    out = {}
    for name in sorted(dir(keras.ops)):
        fn = getattr(keras.ops, name)
        if name.startswith("_") or inspect.isclass(fn) or not callable(fn):
            continue
        out[name] = [[p.name, p.kind.name, None if p.default is inspect.Parameter.empty
                      else repr(p.default)] for p in inspect.signature(fn).parameters.values()]
    return out


def main():
    """Runs every case with Keras and writes the fixture files."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import ops
    inputs = _inputs()
    arrays = {}
    for name, case in CASES.items():
        args = inputs[name]
        try:
            outs = _flatten(case(ops, *[ops.convert_to_tensor(a) for a in args]))
        except Exception as error:      # report and leave the case out
            print(f"skipped {name}: {type(error).__name__}: {str(error)[:200]}")
            continue
        for i, a in enumerate(args):
            arrays[f"{name}/in_{i}"] = np.asarray(a)
        for j, o in enumerate(outs):
            arrays[f"{name}/out_{j}"] = np.asarray(keras.ops.convert_to_numpy(o))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    import jax
    grad_inputs = _grad_inputs()
    for name, (case, input_name) in GRAD_CASES.items():
        x = grad_inputs[input_name]

        def loss(v, case=case):
            out = case(ops, v)
            return ops.sum(out * _grad_weights(out.shape))
        try:
            grad = np.asarray(jax.grad(loss)(x))
        except Exception as error:      # report and leave the case out
            print(f"skipped gradient {name}: {type(error).__name__}: {str(error)[:200]}")
            continue
        arrays[f"grad/{name}/in"] = x
        arrays[f"grad/{name}/grad"] = grad
    buffer, index = pack(arrays)
    np.savez_compressed(OUT, keras_version=np.asarray(keras.__version__), buffer=buffer,
                        index=np.asarray(index))
    for name in CASES:
        size = sum(v.nbytes for k, v in arrays.items() if k.startswith(name + "/"))
        if size > 2000:
            print(f"  {name}: {size} bytes")
    print(f"wrote {OUT}: {len(CASES)} cases, {os.path.getsize(OUT)} bytes, Keras "
          f"{keras.__version__}")
    with open(BACKEND_OUT, "w") as f:
        json.dump(backend_fixture(keras), f, indent=0, sort_keys=True)
        f.write("\n")
    print(f"wrote {BACKEND_OUT}: {os.path.getsize(BACKEND_OUT)} bytes")
    with open(SIGNATURES_OUT, "w") as f:
        json.dump(signatures(keras), f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print(f"wrote {SIGNATURES_OUT}: {os.path.getsize(SIGNATURES_OUT)} bytes")


if __name__ == "__main__":
    main()
