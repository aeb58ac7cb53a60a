"""Refresh the vendored web libraries of the viewer from the npm registry (a maintainer's tool, needs ``npm``).

    python -m panoworld.view.refresh_vendor --three 0.185.1 --psv 5.15.1

Downloads each package with ``npm pack`` (no install, no scripts run), copies its built browser files and its
licence unchanged into ``panoworld/view/vendor/<dir>/`` and rewrites ``vendor/manifest.json`` (versions, files,
SHA-256). Photo Sphere Viewer pins a ``three`` range: pass a ``--three`` version inside it. Then run
``pytest tests/view`` and update the versions in ``vendor/VENDORED.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).with_name("vendor")

#: (npm name, folder, browser scripts (CommonJS builds), style sheets), in load order.
PACKAGES = (
    ("three", "three", ("build/three.cjs",), ()),
    ("@photo-sphere-viewer/core", "photo-sphere-viewer-core", ("index.cjs",), ("index.css",)),
    ("@photo-sphere-viewer/video-plugin", "photo-sphere-viewer-video-plugin", ("index.cjs",), ("index.css",)),
    ("@photo-sphere-viewer/equirectangular-video-adapter", "photo-sphere-viewer-equirectangular-video-adapter",
     ("index.cjs",), ()),
    ("@photo-sphere-viewer/markers-plugin", "photo-sphere-viewer-markers-plugin", ("index.cjs",), ("index.css",)),
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pack(spec: str, work: Path) -> Path:
    out = subprocess.run(["npm", "pack", spec, "--silent"], cwd=work, check=True, capture_output=True, text=True)
    tgz = work / out.stdout.strip().splitlines()[-1]
    folder = work / tgz.stem
    with tarfile.open(tgz) as tar:
        tar.extractall(folder, filter="data")
    return folder / "package"


def refresh(three: str, psv: str) -> dict:
    """Download the pinned packages and rewrite ``vendor/``; returns the new manifest."""
    manifest = {"packages": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, folder, scripts, styles in PACKAGES:
            version = three if name == "three" else psv
            source = _pack(f"{name}@{version}", Path(tmp))
            target = VENDOR / folder
            target.mkdir(parents=True, exist_ok=True)
            files = {}
            for rel in (*scripts, *styles, "LICENSE"):
                dest = target / Path(rel).name
                dest.write_bytes((source / rel).read_bytes())
                files[dest.name] = _sha256(dest)
            manifest["packages"].append({
                "name": name, "version": version, "dir": folder, "license": "LICENSE",
                "scripts": [Path(s).name for s in scripts], "styles": [Path(s).name for s in styles],
                "sha256": files,
            })
    (VENDOR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--three", required=True, help="three.js version, e.g. 0.185.1")
    parser.add_argument("--psv", required=True, help="Photo Sphere Viewer version (all its packages), e.g. 5.15.1")
    args = parser.parse_args()
    for package in refresh(args.three, args.psv)["packages"]:
        print(f"{package['name']}@{package['version']}: {', '.join(package['sha256'])}")


if __name__ == "__main__":
    main()
