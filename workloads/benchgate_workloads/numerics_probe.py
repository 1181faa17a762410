"""Numerics probe: how far each op lands from an fp64 reference, and its exact bits.

Catches TF32 silently toggling, cuBLAS/cuDNN/SDPA backend changes, reduced-precision
reductions and CPU instruction-set changes. Each platform's error is compared against
fp64 (the inductor/dynamo pattern), never two platforms' outputs against each other, so
the error metrics travel across hardware; the sha256 metrics are the strict, same-platform
check (valid only for the same torch build, thread count, CPU capability and GPU model).

Per case `<op>_<dtype>` (SDPA: `sdpa_<backend>_<dtype>`):
  rel_rmse (1), max_abs_err (1), ulp_p50 / ulp_p99 (ULP of the output dtype) — kind
  `error`; sha256 — kind `exact`. Plus `tf32_effective` (does an fp32 matmul carry TF32
  error?) and `coverage`, the list of cases that ran and those skipped with the reason.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from benchgate.api.result import Metric
from benchgate_workloads import injection
from benchgate_workloads.api import Context, error, exact

NAME = "numerics_probe"
SEED = 1234

DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}
# The dynamo multiplier: fp32 errors may double, reduced precision may triple.
FACTORS = {"fp32": 2.0, "bf16": 3.0, "fp16": 3.0}
# An fp32 GEMM with K >= 128 has a relative RMSE near 1e-7 with full fp32 products and near
# 1e-4 once inputs lose 13 mantissa bits (TF32); the threshold sits between, on a log scale.
TF32_REL_RMSE_THRESHOLD = 1e-5
INT_VIEW = {torch.float32: torch.int32, torch.bfloat16: torch.int16, torch.float16: torch.int16}


@dataclass(frozen=True)
class Shapes:
    matmul: int  # square n x n
    conv: tuple[int, int, int, int]  # N, C, H, W (3x3 kernel, C -> 2C channels)
    rows: tuple[int, int]  # softmax / layer_norm input
    sdpa: tuple[int, int, int, int]  # batch, heads, sequence, head dim


TINY = Shapes(matmul=128, conv=(2, 8, 16, 16), rows=(64, 256), sdpa=(1, 2, 64, 32))
FULL = Shapes(matmul=2048, conv=(8, 64, 56, 56), rows=(4096, 4096), sdpa=(4, 16, 1024, 64))


def _inputs(shapes: Shapes, device: torch.device) -> dict[str, list[torch.Tensor]]:
    # fp64 masters on the CPU with a fixed generator: identical on every platform.
    gen = torch.Generator().manual_seed(SEED)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64).to(device)

    n = shapes.matmul
    cn, cc, ch, cw = shapes.conv
    r, c = shapes.rows
    b, h, s, d = shapes.sdpa
    return {
        "matmul": [randn(n, n), randn(n, n)],
        "conv2d": [randn(cn, cc, ch, cw), randn(2 * cc, cc, 3, 3), randn(2 * cc)],
        "softmax": [randn(r, c) * 4.0],
        "layer_norm": [randn(r, c) * 3.0 + 1.0, randn(c), randn(c)],
        "sdpa": [randn(b, h, s, d), randn(b, h, s, d), randn(b, h, s, d)],
    }


def _matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return injection.matmul_input(a) @ injection.matmul_input(b)


OPS: dict[str, Callable[..., torch.Tensor]] = {
    "matmul": _matmul,
    "conv2d": lambda x, w, bias: F.conv2d(x, w, bias, padding=1),
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "layer_norm": lambda x, w, bias: F.layer_norm(x, (x.shape[-1],), w, bias),
    "sdpa": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
}


def _ordered_bits(t: torch.Tensor) -> torch.Tensor:
    """Float bits as integers that increase monotonically with the value (sign-corrected),
    so the ULP distance between two floats is the difference of their ordered bits."""
    bits = t.contiguous().view(INT_VIEW[t.dtype]).to(torch.int64)
    sign_bit = 1 << (t.element_size() * 8 - 1)
    magnitude = bits & (sign_bit - 1)
    return torch.where(bits < 0, -magnitude, magnitude)


def _sha256(t: torch.Tensor) -> str:
    raw = t.detach().contiguous().cpu().view(INT_VIEW[t.dtype]).numpy().tobytes()
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class CaseResult:
    rel_rmse: float
    max_abs_err: float
    ulp_p50: float
    ulp_p99: float
    sha256: str


def _measure(out: torch.Tensor, ref64: torch.Tensor) -> CaseResult:
    out64 = out.to(torch.float64)
    diff = out64 - ref64
    rel_rmse = float(diff.pow(2).mean().sqrt() / ref64.pow(2).mean().sqrt().clamp_min(1e-300))
    ulps = (_ordered_bits(out) - _ordered_bits(ref64.to(out.dtype))).abs().to(torch.float64)
    quantiles = torch.quantile(
        ulps.flatten().cpu()[: 1 << 24], torch.tensor([0.5, 0.99], dtype=torch.float64)
    )
    return CaseResult(
        rel_rmse=rel_rmse,
        max_abs_err=float(diff.abs().max()),
        ulp_p50=float(quantiles[0]),
        ulp_p99=float(quantiles[1]),
        sha256=_sha256(out),
    )


def _sdpa_backends() -> dict[str, object]:
    from torch.nn.attention import SDPBackend

    names = {
        "math": "MATH",
        "flash": "FLASH_ATTENTION",
        "efficient": "EFFICIENT_ATTENTION",
        "cudnn": "CUDNN_ATTENTION",
    }
    return {k: getattr(SDPBackend, v) for k, v in names.items() if hasattr(SDPBackend, v)}


def _run_sdpa(backend: object, args: list[torch.Tensor]) -> torch.Tensor:
    from torch.nn.attention import sdpa_kernel

    with sdpa_kernel(backend):  # type: ignore[arg-type]
        return OPS["sdpa"](*args)


def _reference(op: str, args64: list[torch.Tensor]) -> torch.Tensor:
    if op == "sdpa":
        from torch.nn.attention import SDPBackend

        return _run_sdpa(SDPBackend.MATH, args64)
    if op == "matmul":
        return args64[0] @ args64[1]  # the reference never takes the injected rounding
    return OPS[op](*args64)


def _case_metrics(ctx: Context, case: str, dtype: str, r: CaseResult) -> list[Metric]:
    factor = FACTORS[dtype]
    what = f"{case} output vs an fp64 reference"
    return [
        error(
            ctx,
            f"{case}_rel_rmse",
            r.rel_rmse,
            unit="1",
            factor=factor,
            description=f"Relative RMSE of the {what}.",
        ),
        error(
            ctx,
            f"{case}_max_abs_err",
            r.max_abs_err,
            unit="1",
            factor=factor,
            description=f"Largest absolute error of the {what}.",
        ),
        error(
            ctx,
            f"{case}_ulp_p50",
            r.ulp_p50,
            unit="ULP",
            factor=factor,
            description=f"Median distance in {dtype} ULPs of the {what} rounded to {dtype}.",
        ),
        error(
            ctx,
            f"{case}_ulp_p99",
            r.ulp_p99,
            unit="ULP",
            factor=factor,
            description=f"99th percentile distance in {dtype} ULPs of the {what}.",
        ),
        exact(
            ctx,
            f"{case}_sha256",
            r.sha256,
            unit="sha256",
            description=f"SHA-256 of the {case} output bits; equal only on the same torch "
            "build, thread count, CPU capability and GPU model.",
        ),
    ]


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.split(". ")[0].splitlines()[0] if text else type(exc).__name__
    return first[:80]


def _dtypes_for(device: torch.device) -> dict[str, torch.dtype]:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return {k: v for k, v in DTYPES.items() if k != "bf16"}
    return dict(DTYPES)


def run(ctx: Context) -> list[Metric]:
    shapes = TINY if ctx.tiny else FULL
    inputs = _inputs(shapes, ctx.device)
    metrics: list[Metric] = []
    ran: list[str] = []
    skipped: list[str] = []
    results: dict[str, CaseResult] = {}
    backends = _sdpa_backends()
    for op, args64 in inputs.items():
        ref64 = _reference(op, args64)
        for dtype_name, dtype in _dtypes_for(ctx.device).items():
            args = [a.to(dtype) for a in args64]
            variants: list[tuple[str, Callable[[], torch.Tensor]]]
            if op == "sdpa":
                variants = [
                    (f"sdpa_{b}_{dtype_name}", functools.partial(_run_sdpa, be, args))
                    for b, be in backends.items()
                ]
            else:
                variants = [(f"{op}_{dtype_name}", functools.partial(OPS[op], *args))]
            for case, fn in variants:
                try:
                    out = fn()
                except (RuntimeError, NotImplementedError) as exc:
                    skipped.append(f"{case}: {_short_reason(exc)}")
                    continue
                result = _measure(out, ref64)
                results[case] = result
                ran.append(case)
                metrics.extend(_case_metrics(ctx, case, dtype_name, result))
    if "matmul_fp32" in results:
        metrics.append(
            exact(
                ctx,
                "tf32_effective",
                results["matmul_fp32"].rel_rmse > TF32_REL_RMSE_THRESHOLD,
                unit="bool",
                description="True when an fp32 matmul shows TF32-sized error (relative RMSE "
                f"above {TF32_REL_RMSE_THRESHOLD:g}), whatever the flags claim.",
            )
        )
    metrics.append(
        exact(
            ctx,
            "coverage",
            "ran: " + ", ".join(ran) + "; skipped: " + "; ".join(skipped),
            unit="cases",
            description="Which cases ran and which the device refused (with the reason); a "
            "change means a backend or dtype appeared or disappeared.",
        )
    )
    return metrics
