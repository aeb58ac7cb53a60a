"""Markdown section of one ``bench/generate.py`` run (every figure with its floor and its like-for-like ratio)."""

from __future__ import annotations

from pathlib import Path

from _common import append_markdown

__all__ = ["like_for_like", "write_markdown", "render"]


def _s(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f} s"


def _ratio(a, b) -> str:
    return "—" if not a or not b else f"{a / b:.3f}×"


def _err(e: dict | None) -> str:
    return "—" if not e else f"{e['rel_l2']:.2e} / {e['max_abs']:.3g}"


def _wall(meta: dict, results: dict) -> str:
    budget = f" (budget {meta['budget_s']:g} s)" if meta.get("budget_s") else ""
    if "wall_s" not in results:
        return f"The run was cut before its end{budget}: the rows below are the cases it finished"
    return f"Wall time of the run: {results['wall_s']:.0f} s{budget}"


def _header(meta: dict, results: dict) -> list[str]:
    mode = "compiled blocks" if meta.get("compile") else "eager"
    sizes = "64×128, 9 frames, tiny models" if meta.get("small") else "512×1024, 93 frames, full-size models"
    lines = ["", f"### Generation: {meta['device']} ({meta['date']}, torch {meta['torch']}, {mode}, attention "
             f"{meta['attention']})", "",
             f"`{meta['command']}` — {sizes}, CFG 7, random weights (text encoder and SigLIP replaced by random "
             f"embeddings with weight-sized buffers). {_wall(meta, results)}; "
             f"building the models (random init on the device): {results.get('build_s', 0):.1f} s."]
    c = results["cases"].get("ceilings")
    f = results["cases"].get("floors")
    if c and f:
        dt = meta.get("dtype", "bf16")
        fp8 = f", FP8 e4m3 matmul {c['matmul_fp8']:.4g}" if c.get("matmul_fp8") else ""
        lines += ["", f"Card ceilings measured in this run: {dt} matmul {c['matmul_bf16']:.4g}{fp8}, {dt} SDPA "
                  f"{c['sdpa_bf16']:.4g} TFLOP/s. One guided evaluation (batched CFG) is "
                  f"{f['step_matmul_tflop']:.4g} TFLOP of matmuls + {f['step_attention_tflop']:.4g} TFLOP of "
                  f"attention: floor {_s(f['step_bf16_s'], 3)} in {dt}"
                  + (f", {_s(f['step_fp8_s'], 3)} with FP8 matmuls" if f.get("step_fp8_s") else "") + "."]
    return lines


def _steps(results: dict) -> list[str]:
    s = results["cases"].get("steps")
    if not s:
        return []
    f = results["cases"].get("floors", {})
    bf16, fp8 = f.get("step_bf16_s"), f.get("step_fp8_s")
    lines = ["", "| one guided evaluation (batched CFG) | seconds | floor | ratio, like for like |",
             "| --- | --- | --- | --- |",
             f"| eager, bf16 | {_s(s.get('step_eager_bf16_s'), 3)} | {_s(bf16, 3)} | "
             f"{_ratio(s.get('step_eager_bf16_s'), bf16)} of the floor |"]
    if "step_eager_bf16_flash_s" in s:
        lines.append(f"| eager, bf16, FlashAttention first | {_s(s['step_eager_bf16_flash_s'], 3)} | {_s(bf16, 3)} | "
                     f"flash / auto: {_ratio(s['step_eager_bf16_flash_s'], s.get('step_eager_bf16_s'))} |")
    if "step_eager_fp8_s" in s:
        lines.append(f"| eager, FP8 matmuls | {_s(s['step_eager_fp8_s'], 3)} | {_s(fp8, 3)} | FP8 / bf16 (eager): "
                     f"{_ratio(s['step_eager_fp8_s'], s.get('step_eager_bf16_s'))} |")
    if "step_compiled_bf16_s" in s:
        lines.append(f"| compiled, bf16 (first call compiles: {_s(s.get('compile_first_call_s'), 0)}) | "
                     f"{_s(s['step_compiled_bf16_s'], 3)} | {_s(bf16, 3)} | compiled / eager: "
                     f"{_ratio(s['step_compiled_bf16_s'], s.get('step_eager_bf16_s'))}; "
                     f"{_ratio(s['step_compiled_bf16_s'], bf16)} of the floor |")
    if "step_compiled_fp8_s" in s:
        lines.append(f"| compiled, FP8 matmuls (first call: {_s(s.get('compile_fp8_first_call_s'), 0)}) | "
                     f"{_s(s['step_compiled_fp8_s'], 3)} | {_s(fp8, 3)} | FP8 / bf16 (compiled): "
                     f"{_ratio(s['step_compiled_fp8_s'], s.get('step_compiled_bf16_s'))} |")
    if "step_reused_s" in s:
        full = s.get("step_compiled_bf16_s") or s.get("step_eager_bf16_s")
        lines.append(f"| reused by the step cache (block 0 + output) | {_s(s['step_reused_s'], 3)} | — | "
                     f"reused / full ({'compiled' if 'step_compiled_bf16_s' in s else 'eager'}): "
                     f"{_ratio(s['step_reused_s'], full)} |")
    st = results["cases"].get("stock")
    if st:
        lines.append(f"| one forward B=1, eager: stock diffusers Cosmos / ours | {_s(st['stock_b1_s'], 3)} / "
                     f"{_s(st['ours_b1_s'], 3)} | — | ours / stock: {_ratio(st['ours_b1_s'], st['stock_b1_s'])} |")
    return lines


def _rounds(results: dict) -> list[str]:
    rows = [r for case in ("single", "fast", "chained", "offload") for r in results["cases"].get(case, {}).get(
        "rows", [])]
    if not rows:
        return []
    exact = next((r for r in rows if r.get("label") == "exact" and "total_s" in r), None)
    lines = ["", "| round | steps run | total | per guided evaluation | VAE (conditioning + decode) | peak | "
             "sampling floor (36 evaluations per round) | vs exact single (same steps) | graphs compiled |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['label']} | skipped ({r['skipped']}) | | | | | | | |")
            continue
        total = f"{r['total_s']:.1f} s"
        if r["steps"] != 35:
            extra = r.get("extrapolated_35_s")
            total += f" (35 steps, extrapolated: {extra:.1f} s)" if extra else " (not extrapolated)"
        peak = "—" if r.get("peak_gib") is None or r["peak_gib"] != r["peak_gib"] else f"{r['peak_gib']:.1f} GiB"
        reused = f", {r['cache_reused']} reused" if r.get("cache_reused") else ""
        same = exact is not None and exact["steps"] == r["steps"] and r["rounds"] == 1 and r is not exact
        lines.append(f"| {r['label']} | {r['steps']} × {r['rounds']}{reused} | {total} | {_s(r['per_eval_s'], 3)} | "
                     f"{_s(r['vae_s'], 2)} | {peak} | {_s(r.get('sampling_floor_s'), 1)} | "
                     f"{_ratio(r['total_s'], exact['total_s']) if same else '—'} | {r.get('graphs_compiled', '—')} |")
    return lines


def _vae(results: dict) -> list[str]:
    v = results["cases"].get("vae")
    if not v:
        return []
    meta = results["meta"]
    size = "tiny" if meta.get("small") else "93 × 512 × 1024"
    lines = ["", f"| Wan2.1 VAE, {size}, {meta.get('dtype', 'bf16')} | diffusers | runner | runner / diffusers | runner − diffusers (rel. L2 / max "
             "abs) |", "| --- | --- | --- | --- | --- |"]
    for name, label in (("encode", "encode, moving video"), ("encode_still", "encode, still video (Round 1 guide)"),
                        ("decode", "decode (2 wrapped latent columns per side)")):
        a, b = v.get(f"{name}_diffusers_s"), v.get(f"{name}_runner_s")
        lines.append(f"| {label} | {_s(a)} | {_s(b)} | {_ratio(b, a)} | {_err(v.get(f'{name}_error'))} |")
    extras = [f"decode without the fused kernel {_s(v['decode_runner_unfused_s'])}"] if "decode_runner_unfused_s" in v \
        else []
    extras += [f"encode in {c}-frame chunks {_s(v[f'encode_runner_chunk{c}_s'])}" for c in (8, 16)
               if f"encode_runner_chunk{c}_s" in v]
    if extras:
        lines += ["", "Runner variants (`--kernels`): " + "; ".join(extras) + "."]
    return lines


def _same_steps_row(rows: list[dict], label: str, like: dict) -> dict | None:
    return next((r for r in rows if r.get("label") == label and "total_s" in r and r["steps"] == like["steps"]
                 and r["rounds"] == like["rounds"]), None)


def like_for_like(results: dict) -> dict[str, dict]:
    """Every ratio of one run whose two sides were measured in that run on the same card, dtype, attention kernel
    and compile mode: {name: {"ratio": a / b, "a_s": a, "b_s": b, "what": description}} (< 1 = faster)."""
    cases = results.get("cases", {})
    s, v, st = cases.get("steps", {}), cases.get("vae", {}), cases.get("stock", {})
    compiled = "step_compiled_bf16_s" in s
    full = s.get("step_compiled_bf16_s") or s.get("step_eager_bf16_s")
    pairs = [
        ("step_compiled_vs_eager", s.get("step_compiled_bf16_s"), s.get("step_eager_bf16_s"),
         "one guided evaluation, bf16: compiled blocks / eager"),
        ("step_fp8_vs_bf16_compiled", s.get("step_compiled_fp8_s"), s.get("step_compiled_bf16_s"),
         "one guided evaluation, compiled: FP8 matmuls / bf16"),
        ("step_fp8_vs_bf16_eager", s.get("step_eager_fp8_s"), s.get("step_eager_bf16_s"),
         "one guided evaluation, eager: FP8 matmuls / bf16"),
        ("step_flash_vs_auto_eager", s.get("step_eager_bf16_flash_s"), s.get("step_eager_bf16_s"),
         "one guided evaluation, eager bf16: FlashAttention first / auto (cuDNN)"),
        ("step_reused_vs_full", s.get("step_reused_s"), full,
         f"one guided evaluation reused by the step cache / a full one ({'compiled' if compiled else 'eager'}, bf16)"),
        ("step_vs_floor", full, cases.get("floors", {}).get("step_bf16_s"),
         f"one guided evaluation ({'compiled' if compiled else 'eager'}, bf16) / the card's bf16 floor measured "
         "in this run"),
        ("transformer_ours_vs_stock", st.get("ours_b1_s"), st.get("stock_b1_s"),
         "one transformer forward B=1, eager, same attention kernel: ours / stock diffusers Cosmos"),
    ]
    for name in ("encode", "encode_still", "decode"):
        pairs.append((f"vae_{name}_runner_vs_diffusers", v.get(f"{name}_runner_s"), v.get(f"{name}_diffusers_s"),
                      f"Wan2.1 VAE {name.replace('_', ' ')}, same input: WanVAERunner / diffusers"))
    keys = ("encode", "encode_still", "decode")
    if all(f"{k}_runner_s" in v and f"{k}_diffusers_s" in v for k in keys):
        pairs.append(("vae_round_runner_vs_diffusers", sum(v[f"{k}_runner_s"] for k in keys),
                      sum(v[f"{k}_diffusers_s"] for k in keys),
                      "VAE work of one round (moving + still encode + decode): WanVAERunner / diffusers"))
    rows = [r for case in ("single", "fast", "chained", "offload") for r in cases.get(case, {}).get("rows", [])]
    for r in rows:
        if "total_s" not in r or r["label"] in ("exact", "offload none"):
            continue
        base_label = "offload none" if r["label"].startswith("offload") else "exact single round"
        base = _same_steps_row(rows, "offload none" if r["label"].startswith("offload") else "exact", r)
        if base is not None:
            pairs.append((f"round: {r['label']}", r["total_s"], base["total_s"],
                          f"{r['label']} / {base_label} ({r['steps']} steps × {r['rounds']}, same compile mode)"))
    return {name: {"ratio": a / b, "a_s": a, "b_s": b, "what": what} for name, a, b, what in pairs if a and b}


def _ratios(results: dict) -> list[str]:
    ratios = like_for_like(results)
    if not ratios:
        return []
    return ["", "Like-for-like ratios of this run (both sides measured in it; < 1 = faster):", ""] + [
        f"- {r['what']}: {r['a_s']:.3f} s / {r['b_s']:.3f} s = **{r['ratio']:.3f}×**" for r in ratios.values()]


def render(results: dict) -> str:
    meta = results["meta"]
    lines = _header(meta, results) + _steps(results) + _rounds(results) + _vae(results) + _ratios(results)
    e = results["cases"].get("fp8_error", {})
    if "fp8_vs_bf16" in e:
        other = e.get("bf16_flash_vs_bf16")
        size = "tiny" if meta.get("small") else "full-size"
        lines += ["", f"FP8 matmuls, {size} transformer output vs bf16 (random weights, one forward): relative L2 "
                  f"{e['fp8_vs_bf16']['rel_l2']:.2e}, max abs {e['fp8_vs_bf16']['max_abs']:.3g}"
                  + (f" (two exact bf16 attention kernels differ by {other['rel_l2']:.2e})" if other else "") + "."]
    if results.get("errors"):
        lines += ["", "Cases that failed in this run: " + "; ".join(f"{k}: {v}" for k, v in results["errors"].items())]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, results: dict) -> None:
    append_markdown(path, render(results))
