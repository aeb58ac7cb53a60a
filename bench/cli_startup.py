"""CPU time of ``panoworld --help`` and of usage errors, for this checkout and (optionally) another source tree.

    python bench/cli_startup.py                                  # this checkout only
    git archive main | tar -x -C /tmp/pw-main                    # the comparison tree
    python bench/cli_startup.py --before /tmp/pw-main/src        # both, same run, with the ratio

Each case runs ``--repeats`` times in a fresh interpreter (``python -c`` with the source tree first on
``sys.path``, the same as the console script); the number is the median user + system CPU seconds of the child
process (``resource.getrusage``), so a loaded machine inflates it less than wall time. ``--importtime`` adds the
largest cumulative imports of ``--help`` (``python -X importtime``) per tree.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"
RUN = "import sys; sys.path.insert(0, {src!r}); sys.argv[0] = 'panoworld'; from panoworld.cli import entry; entry()"


def cases(scratch: Path) -> dict[str, list[str]]:
    """Case label -> panoworld arguments. Every usage case exits with status 2 before doing any work."""
    photo = scratch / "photo.png"
    photo.write_bytes(b"not read")
    return {
        "panoworld --help": ["--help"],
        "usage error: generate --steps 2.5": ["generate", str(photo), "-p", "x", "--steps", "2.5"],
        "usage error: synth --grid 0": ["synth", "--out", str(scratch / "o"), "--grid", "0"],
        "usage error: project e2p --yaw nan": ["project", "e2p", str(photo), str(scratch / "v.png"), "--yaw", "nan"],
    }


def cpu_seconds(src: Path, args: list[str]) -> tuple[float, int]:
    """(user + system CPU seconds, exit code) of one run of the CLI from source tree ``src``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", RUN.format(src=str(src)), *args], capture_output=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode


def top_imports(src: Path, count: int) -> list[tuple[str, float]]:
    """The ``count`` largest cumulative import times (seconds) of ``panoworld --help`` from ``src``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", RUN.format(src=str(src)), "--help"],
                          capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            if not name.startswith(" "):
                rows.append((name, int(cumulative) / 1e6))
    top = sorted(((n, t) for n, t in rows if "." not in n), key=lambda r: -r[1])
    return top[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="Source tree (the folder holding panoworld/) to compare with.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--importtime", type=int, default=6, help="Largest imports to list per tree (0 = none).")
    args = parser.parse_args()
    trees = {"after (this checkout)": HERE}
    if args.before:
        trees = {"before": args.before.resolve(), **trees}
    with tempfile.TemporaryDirectory() as scratch:
        table = {}
        for label, argv in cases(Path(scratch)).items():
            for tree, src in trees.items():
                runs = [cpu_seconds(src, argv) for _ in range(args.repeats)]
                table[label, tree] = (statistics.median(t for t, _ in runs), runs[0][1])
    names = list(trees)
    print(f"| case | {' | '.join(f'{n}: CPU s (exit code)' for n in names)} |" + (" ratio |" if len(names) > 1 else ""))
    print("| --- " * (len(names) + 1 + (len(names) > 1)) + "|")
    for label in dict.fromkeys(k[0] for k in table):
        cells = [f"{table[label, n][0]:.2f} ({table[label, n][1]})" for n in names]
        ratio = [f"{table[label, names[0]][0] / table[label, names[-1]][0]:.1f}x"] if len(names) > 1 else []
        print(f"| {label} | {' | '.join(cells + ratio)} |")
    for tree, src in trees.items() if args.importtime else []:
        top = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in top_imports(src, args.importtime))
        print(f"\n`python -X importtime` of `--help`, {tree}: largest cumulative top-level imports: {top}")


if __name__ == "__main__":
    main()
