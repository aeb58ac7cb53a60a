"""Small hand-built scenes with known geometry for the synth tests."""

from __future__ import annotations

import pytest

from panoworld.synth import Light, Material, Motion, Prim, Scene, Trajectory

GREY = Material("noise", (0.6, 0.6, 0.6), (0.4, 0.4, 0.4), 0.5)
RED = Material("ball", (0.8, 0.1, 0.1), (0.9, 0.9, 0.9), 0.3)


def open_scene(prims, *, start=(0.0, -1.5, 0.0), yaw=0.0, kind="static", **traj) -> Scene:
    """A scene with the ground plane, a sky dome and ``prims``; camera at ``start``."""
    base = [
        Prim("ground", (0, 0, 0), (0, 0, 0), GREY, 1, "ground"),
        Prim("dome", (100.0, 0, 0), (0, 0, 0), Material("sky", emissive=1.0), 0, "sky"),
    ]
    light = Light("sun", direction=(0.3, -0.8, 0.2))
    return Scene("outdoor", 0, base + list(prims), light, Trajectory(kind, start, yaw, **traj), sky=True)


@pytest.fixture
def occluder_scene() -> Scene:
    """A wall 6 m ahead and a ball of radius 0.5 m rolling from left to right between camera and wall."""
    wall = Prim("box", (8.0, 3.0, 0.2), (0.0, -3.0, 6.0), GREY, 2, "wall")
    ball = Prim("sphere", (0.5, 0, 0), (0, 0, 0), RED, 3, "ball",
                Motion("line", (-3.0, -1.5, 3.0), velocity=(4.0, 0.0, 0.0), roll_radius=0.5))
    return open_scene([wall, ball])
