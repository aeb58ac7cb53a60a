"""Helpers shared by the bench scripts: device sync, timing with peak memory, machine name, Markdown output,
random-weight model building, the stock diffusers Cosmos config used as the comparison, a wall-clock budget and
the card's measured arithmetic ceilings.

Run the scripts as ``python bench/<name>.py`` from the repository root (their folder is then on ``sys.path``).
Importing this module puts the checkout's ``src`` first on ``sys.path`` so that a bench measures this
checkout's code without installing it.
"""

from __future__ import annotations

import contextlib
import gc
import math
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

_SRC = str(Path(__file__).resolve().parents[1] / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

import torch  # noqa: E402

__all__ = [
    "Budget", "Timing", "append_markdown", "build_random", "card_ceilings", "free_memory", "full_fp32", "guarded",
    "is_cuda", "machine_name", "mean_ci", "measure", "parse_hw", "random_init_", "ratio_of_means", "rel_error",
    "reset_peak", "stock_cosmos_config", "sync", "throughput",
]


def is_cuda(device: str | torch.device) -> bool:
    """True for a CUDA device ("cuda", "cuda:1", torch.device("cuda"))."""
    return torch.device(device).type == "cuda"


def sync(device: str | torch.device) -> None:
    """Wait for queued CUDA work on ``device`` (no-op on CPU)."""
    if is_cuda(device):
        torch.cuda.synchronize(device)


def free_memory(device: str | torch.device) -> None:
    """Collect Python garbage and return cached CUDA blocks."""
    gc.collect()
    if is_cuda(device):
        torch.cuda.empty_cache()


def reset_peak(device: str | torch.device) -> None:
    """:func:`free_memory`, then restart the CUDA peak-allocation counter."""
    free_memory(device)
    if is_cuda(device):
        torch.zeros(1, device=device)  # before the allocator's first use the reset raises "Invalid device argument"
        torch.cuda.reset_peak_memory_stats(device)


@dataclass
class Timing:
    """Wall-clock seconds of the timed calls, peak GiB allocated during them, and the last call's result."""

    times: list[float] = field(default_factory=list)
    peak_gib: float | None = None
    result: Any = None

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def measure(fn: Callable[[], Any], device: str | torch.device = "cpu", *, repeats: int = 1, warmup: int = 0,
            cpu_peak: float | None = float("nan")) -> Timing:
    """Call ``fn()`` ``warmup`` times untimed, then ``repeats`` times timed (CUDA synchronised around each call).

    Memory is freed (:func:`reset_peak`) before the warm-up; the CUDA peak counter is reset again after it
    (caches kept warm), so ``peak_gib`` (max allocated, GiB, weights included) covers the timed calls only;
    on CPU it is ``cpu_peak``.
    """
    result = None
    reset_peak(device)
    for _ in range(warmup):
        result = fn()
    sync(device)
    if is_cuda(device):
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        result = fn()
        sync(device)
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if is_cuda(device) else cpu_peak
    return Timing(times, peak, result)


def machine_name(device: str | torch.device) -> str:
    """The GPU's name for a CUDA device, else the CPU and the torch thread count."""
    if is_cuda(device):
        return torch.cuda.get_device_name(torch.device(device))
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def parse_hw(text: str) -> tuple[int, int]:
    """``HxW`` (e.g. ``512x1024``) -> (height, width) pixels."""
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def guarded(fn: Callable[[], dict], device: str | torch.device) -> dict:
    """``fn()``, or ``{"error": one line}`` when it fails (CUDA out of memory or any exception), so that one failing
    case does not lose the other cases' numbers; memory is freed afterwards."""
    try:
        return fn()
    except torch.cuda.OutOfMemoryError:
        return {"error": "CUDA out of memory"}
    except Exception as exc:  # noqa: BLE001 - reported in the results, the bench goes on
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"}
    finally:
        free_memory(device)


def rel_error(a: torch.Tensor, b: torch.Tensor) -> dict:
    """Relative L2 error and max absolute difference of ``a`` against ``b`` (in float64)."""
    diff = a.double() - b.double()
    return {"rel_l2": float(diff.norm() / b.double().norm().clamp_min(1e-30)), "max_abs": float(diff.abs().max())}


@contextlib.contextmanager
def full_fp32():
    """No TF32 in cuDNN convolutions and matmuls (cuDNN allows it by default): a true float32 reference."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def append_markdown(path: str | Path, text: str) -> None:
    """Append ``text`` as is (UTF-8) to the Markdown file ``path``."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def random_init_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """N(0, 0.02) weights, norm scales 1, drawn on the parameters' device (fast for meta-built models)."""
    gen = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and "norm" in name:
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02, generator=gen)
    return model


def build_random(cls, config: dict, device: str | torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """``cls(**config)`` built on the meta device, materialised on ``device`` in ``dtype``, random weights, eval."""
    with torch.device("meta"):
        model = cls(**config)
    return random_init_(model.to_empty(device=device).to(dtype)).eval()


def stock_cosmos_config(ours: dict) -> dict:
    """diffusers ``CosmosTransformer3DModel`` kwargs of the Predict2.5-2B layout sized like our config ``ours``.

    The padding mask is passed as a zero input channel (``concat_padding_mask=False``, 18 input channels):
    identical compute, and diffusers would otherwise resize it with torchvision.
    """
    return dict(
        in_channels=18, out_channels=16, num_attention_heads=ours["num_attention_heads"],
        attention_head_dim=ours["attention_head_dim"], num_layers=ours["num_layers"], mlp_ratio=4.0,
        text_embed_dim=1024, adaln_lora_dim=ours["adaln_lora_dim"], max_size=(128, 240, 240), patch_size=(1, 2, 2),
        rope_scale=(1.0, 3.0, 3.0), concat_padding_mask=False, extra_pos_embed_type=None,
        use_crossattn_projection=True, crossattn_proj_in_channels=ours["crossattn_proj_in_channels"],
        encoder_hidden_states_channels=1024,
    )


class Budget:
    """Wall-clock budget of one bench run (None = unlimited): what is left, and whether a predicted cost fits."""

    def __init__(self, seconds: float | None):
        self.total = seconds
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return float("inf") if self.total is None else self.total - self.elapsed()

    def fits(self, predicted_s: float, reserve_s: float = 0.0) -> bool:
        """True when ``predicted_s`` seconds still fit, keeping ``reserve_s`` for what must follow."""
        return predicted_s + reserve_s <= self.left()


def throughput(fn: Callable[[], Any], flop: float, device: str | torch.device, *, inner: int = 10,
               repeats: int = 5) -> float:
    """TFLOP/s of ``fn`` (``flop`` operations per call): median over ``repeats`` timed groups of ``inner`` calls."""
    timing = measure(lambda: [fn() for _ in range(inner)], device, repeats=repeats, warmup=1)
    return flop * inner / timing.median / 1e12


def card_ceilings(device: str | torch.device, *, small: bool = False, sdpa_shape=(1, 16, 49152, 128)) -> dict:
    """Measured arithmetic ceilings (TFLOP/s) of the device: bf16 matmul (8192³), FP8 e4m3 ``torch._scaled_mm``
    with per-row scales and bf16 output (where the device has it) and bf16 SDPA at ``sdpa_shape`` (the PanoWorld
    self-attention) with the kernel that ``attention="auto"`` picks. ``small``: small sizes, for CPU checks."""
    from panoworld.models.fp8 import fp8_supported, quantize_rows
    from panoworld.pipelines.attention import attention_backend

    device = torch.device(device)
    dtype = torch.bfloat16 if is_cuda(device) else torch.float32
    n = 512 if small else 8192
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    out = {"matmul_bf16": throughput(lambda: a @ b, 2.0 * n**3, device)}
    if fp8_supported(device):
        qa, sa = quantize_rows(a)
        qb, sb = quantize_rows(b)
        out["matmul_fp8"] = throughput(
            lambda: torch._scaled_mm(qa, qb.t(), scale_a=sa, scale_b=sb.t(), out_dtype=torch.bfloat16),
            2.0 * n**3, device)
    del a, b
    batch, heads, tokens, dim = (1, 2, 1024, 64) if small else sdpa_shape
    q, k, v = (torch.randn(batch, heads, tokens, dim, device=device, dtype=dtype, generator=gen) for _ in range(3))
    with attention_backend("auto", device):
        out["sdpa_bf16"] = throughput(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v),
                                      4.0 * batch * heads * tokens**2 * dim, device, inner=2 if not small else 5)
    free_memory(device)
    return out


def ratio_of_means(numerators, denominators, *, resamples: int = 10_000, seed: int = 0
                   ) -> tuple[float, float, float, int]:
    """(mean(num) / mean(den), 2.5 and 97.5 percentiles of the same over paired bootstrap resamples of the items,
    n): a split-level ratio whose interval does not blow up when one denominator is small, unlike the mean of
    per-item ratios (which is biased upwards by Jensen's inequality)."""
    import numpy as np

    num, den = np.asarray(list(numerators), dtype=float), np.asarray(list(denominators), dtype=float)
    if num.shape != den.shape:
        raise ValueError(f"ratio_of_means: {num.shape} numerators vs {den.shape} denominators")
    n = len(num)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    ratio = float(num.mean() / den.mean())
    if n == 1:
        return ratio, math.nan, math.nan, 1
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    boot = num[idx].mean(axis=1) / den[idx].mean(axis=1)
    return ratio, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5)), n


def mean_ci(values) -> tuple[float, float, int]:
    """(mean, 95 % Student-t half-width, n) of a list of numbers."""
    import numpy as np
    from scipy import stats

    arr = np.asarray(list(values), dtype=float)
    if len(arr) == 0:
        return float("nan"), float("nan"), 0
    ci = float(stats.t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else math.nan
    return float(arr.mean()), ci, len(arr)
