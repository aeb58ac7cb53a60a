"""Benchmark: 93 frames of 512x1024 ERP -> 480x640 perspective (fov 90) and back.

Compares panoworld.sphere with py360convert (e2p; it has no p2e) and pyequilib (equi2pers /
pers2equi) in the same process. Prints one JSON line; ``--out-md`` appends a Markdown section.

    python bench/sphere.py                    # CPU, all methods
    python bench/sphere.py --device cuda      # ours (and pyequilib) on the GPU
    python bench/sphere.py --frames 4 --size 64x128 --persp 48x64   # smoke test
"""

from __future__ import annotations

import argparse
import datetime
import json
import time

import numpy as np
import torch
from _common import append_markdown, is_cuda, machine_name, measure, parse_hw, sync  # bench/ (and src/) on sys.path

from panoworld.sphere import erp_to_perspective, perspective_to_erp


def timed(fn, device: str, repeats: int = 1) -> float:
    """Best wall-clock seconds of ``repeats`` runs of ``fn()``, synchronising CUDA."""
    return measure(fn, device, repeats=repeats).best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--frames", type=int, default=93, help="number of ERP frames")
    parser.add_argument("--size", default="512x1024", help="ERP size HxW")
    parser.add_argument("--persp", default="480x640", help="perspective size HxW")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats (best is kept)")
    parser.add_argument("--skip", default="", help="comma-separated methods to skip: py360convert,pyequilib")
    parser.add_argument("--out-md", default=None, help="append a Markdown section to this file")
    args = parser.parse_args()
    h, w = parse_hw(args.size)
    ph, pw = parse_hw(args.persp)
    dev = args.device
    skip = set(filter(None, args.skip.split(",")))
    gen = torch.Generator().manual_seed(0)
    erp = torch.rand(args.frames, 3, h, w, generator=gen).to(dev)
    results: dict[str, float | str | int] = {
        "date": datetime.date.today().isoformat(), "machine": machine_name(dev), "device": dev,
        "frames": args.frames, "erp": args.size, "persp": args.persp,
    }

    t0 = time.perf_counter()
    view = erp_to_perspective(erp, fov_x=90, size=(ph, pw))
    back, _ = perspective_to_erp(view, fov_x=90, size=(h, w))
    sync(dev)
    results["ours_cold_s"] = time.perf_counter() - t0
    results["ours_e2p_s"] = timed(lambda: erp_to_perspective(erp, fov_x=90, size=(ph, pw)), dev, args.repeats)
    results["ours_p2e_s"] = timed(lambda: perspective_to_erp(view, fov_x=90, size=(h, w)), dev, args.repeats)

    if "py360convert" not in skip and not is_cuda(dev):
        import py360convert

        frames_np = [f.permute(1, 2, 0).numpy() for f in erp.cpu()]
        fov_y = float(np.degrees(2 * np.arctan(np.tan(np.radians(45)) * ph / pw)))
        results["py360convert_e2p_s"] = timed(
            lambda: [py360convert.e2p(f, fov_deg=(90, fov_y), u_deg=0, v_deg=0, out_hw=(ph, pw)) for f in frames_np],
            dev,
            1,
        )
        results["speedup_e2p_vs_py360convert"] = results["py360convert_e2p_s"] / results["ours_e2p_s"]

    if "pyequilib" not in skip:
        from equilib import equi2pers, pers2equi

        rots = [{"roll": 0.0, "pitch": 0.0, "yaw": 0.0}] * args.frames
        results["pyequilib_e2p_s"] = timed(
            lambda: equi2pers(erp, rots=rots, height=ph, width=pw, fov_x=90.0), dev, 1
        )
        results["pyequilib_p2e_s"] = timed(
            lambda: pers2equi(view, rots=rots, height=h, width=w, fov_x=90.0), dev, 1
        )
        results["speedup_e2p_vs_pyequilib"] = results["pyequilib_e2p_s"] / results["ours_e2p_s"]
        results["speedup_p2e_vs_pyequilib"] = results["pyequilib_p2e_s"] / results["ours_p2e_s"]

    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in results.items()}))
    if args.out_md:
        rows = [f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in results.items()]
        append_markdown(args.out_md, "\n".join(["", f"### sphere: {results['machine']} ({results['date']})", "",
                                                "| quantity | value |", "| --- | --- |", *rows, ""]))


if __name__ == "__main__":
    main()
