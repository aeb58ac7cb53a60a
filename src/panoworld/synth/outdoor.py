"""Procedural streets: road and sidewalks, rows of buildings with window facades, trees, street lamps,
parked cars, a sky dome with sun and clouds, and pedestrians and cars passing by. The street runs
along x; sizes in metres; the ground is y = 0 and up is -y."""

from __future__ import annotations

import math
import random

from .layout import Builder, camera_trajectory
from .scene import Light, Motion, Prim, Scene

__all__ = ["make_street", "SKY_RADIUS"]

#: Radius (m) of the sky dome around the world origin; sky depth is finite and exact.
SKY_RADIUS = 150.0
FACADES = ["cream", "beige", "terracotta", "light grey", "tan", "white", "sage", "pink"]
CARS = ["red", "blue", "white", "black", "grey", "yellow", "teal"]


def _car(builder: Builder, x: float, z: float, color: str, inst: int, motion: Motion | None = None):
    """A car: body, cabin and a dark skirt; at (x, z) (static) or relative to ``motion``."""
    paint = builder.material("flat", color, "black", 1.0, word="")
    glass = builder.material("noise", "dark grey", "black", 0.4, word="glass")
    dark = builder.material("flat", "black", "black", 1.0)
    origin = (0.0, 0.0, 0.0) if motion else (x, 0.0, z)
    ox, _, oz = origin
    builder.add(Prim("box", (2.1, 0.35, 0.9), (ox, -0.6, oz), paint, inst, "car", motion))
    builder.add(Prim("box", (1.2, 0.32, 0.82), (ox - 0.2, -1.27, oz), glass, inst, "car", motion))
    builder.add(Prim("box", (1.9, 0.13, 0.85), (ox, -0.13, oz), dark, inst, "car", motion))


def make_street(seed: int, trajectory: str, rng: random.Random) -> Scene:
    """A street scene with a camera trajectory of kind ``trajectory``."""
    builder = Builder()
    road_hw = rng.uniform(5.0, 6.0)
    side = rng.choice([-1, 1])  # the sidewalk the camera stands on
    ground = builder.material("road", (0.32, 0.32, 0.34), rng.choice(["light grey", "beige"]), road_hw, word="asphalt")
    builder.add(Prim("ground", (0, 0, 0), (0, 0, 0), ground, 1, "street"))
    sky = builder.material("sky", "sky blue", "white", 1.0, emissive=1.0)
    builder.add(Prim("dome", (SKY_RADIUS, 0, 0), (0, 0, 0), sky, 0, "sky"))
    buildings = []
    for s in (-1, 1):
        x = -70.0
        while x < 70.0:
            w = rng.uniform(8.0, 18.0)
            h = rng.uniform(6.0, 28.0)
            depth = rng.uniform(8.0, 14.0)
            z0 = road_hw + 3.0 + rng.uniform(0.0, 1.0)
            color = rng.choice(FACADES)
            mat = builder.material(rng.choice(["facade", "facade", "brick"]), color, "white", 1.0, word="")
            if mat.pattern == "brick":
                mat = builder.material("facade", color, "terracotta", 1.0, word="brick")
            inst = builder.new_instance("building")
            builder.add(Prim("box", (w / 2, h / 2, depth / 2), (x + w / 2, -h / 2, s * (z0 + depth / 2)), mat, inst, "building"))
            buildings.append({"label": "building", "instance": inst, "position": (x + w / 2, 0.0, s * z0), "dynamic": False,
                              "material": f"{color} {round(h / 3):d}-storey", "color": color, "height": h})
            x += w + (rng.uniform(3.0, 6.0) if rng.random() < 0.2 else rng.uniform(0.0, 1.0))
    cam_z = side * (road_hw + 1.4)
    traj, _ = camera_trajectory(rng, trajectory, (12.0, 0.0), height_range=(1.5, 1.8), speed=(0.4, 0.9),
                                headings=(90.0, -90.0), start_z=cam_z)
    cam_x = traj.start[0]
    bark = builder.material("noise", "brown", "dark grey", 0.1, word="")
    leaves = builder.material("noise", "green", "olive", 0.5, word="leafy")
    metal = builder.material("flat", "dark grey", "black", 1.0)
    bulb = builder.material("flat", "cream", "white", 1.0, emissive=1.0)
    objects = []
    for s in (-1, 1):
        x = rng.uniform(-40.0, -30.0)
        while x < 40.0:
            z = s * (road_hw + 2.7)
            inst = builder.new_instance("tree")
            r = rng.uniform(1.1, 1.5) if s == side else rng.uniform(1.3, 2.0)
            builder.add(Prim("cylinder", (0.16, 1.3, 0), (x, -1.3, z), bark, inst, "tree"))
            builder.add(Prim("sphere", (r, 0, 0), (x, -2.3 - r * 0.85, z), leaves, inst, "tree"))
            objects.append({"label": "tree", "instance": inst, "position": (x, 0.0, z), "dynamic": False, "material": "leafy green"})
            x += rng.uniform(9.0, 15.0)
        x = rng.uniform(-35.0, -25.0)
        while x < 35.0:
            z = s * (road_hw + 0.35)
            if s != side or rng.random() < 0.5:
                inst = builder.new_instance("street lamp")
                builder.add(Prim("cylinder", (0.07, 2.4, 0), (x, -2.4, z), metal, inst, "street lamp"))
                builder.add(Prim("sphere", (0.22, 0, 0), (x, -4.95, z), bulb, inst, "street lamp"))
                objects.append({"label": "street lamp", "instance": inst, "position": (x, 0.0, z), "dynamic": False, "material": "dark metal"})
            x += rng.uniform(14.0, 22.0)
    parked_side = -side
    x = rng.uniform(-30.0, -20.0)
    while x < 30.0:
        if rng.random() < 0.6:
            color = rng.choice(CARS)
            inst = builder.new_instance("car")
            _car(builder, x, parked_side * (road_hw - 1.1), color, inst)
            objects.append({"label": "parked car", "instance": inst, "position": (x, 0.0, parked_side * (road_hw - 1.1)),
                            "dynamic": False, "material": color})
        x += rng.uniform(5.5, 9.0)
    # Moving things: cars in the lanes, pedestrians on the sidewalks.
    for _ in range(rng.choice([1, 1, 2])):
        lane = rng.choice([-1, 1])
        v = rng.uniform(6.0, 11.0) * lane
        pass_time = rng.uniform(0.5, 5.0)
        start = (cam_x - v * pass_time, 0.0, -lane * road_hw * 0.3)
        color = rng.choice(CARS)
        inst = builder.new_instance("car")
        _car(builder, 0, 0, color, inst, Motion("line", start, velocity=(v, 0.0, 0.0)))
        objects.append({"label": "car", "instance": inst, "position": start, "dynamic": True, "color": color,
                        "verb": "drives past along the street"})
    for _ in range(rng.choice([1, 2, 3])):
        s = rng.choice([-1, 1])
        v = rng.uniform(0.9, 1.5) * rng.choice([-1, 1])
        z = s * (road_hw + (2.25 if s == side else rng.uniform(1.2, 2.2)))
        start = (cam_x + rng.uniform(-12.0, 12.0), -0.72, z)
        color = rng.choice(["red", "blue", "yellow", "green", "orange", "purple", "white"])
        inst = builder.new_instance("person")
        shirt = builder.material("person", color, rng.choice(["navy", "black", "dark grey", "tan"]), 0.72, word=color)
        skin = builder.material("flat", rng.choice([(0.85, 0.67, 0.55), (0.6, 0.42, 0.3), (0.4, 0.27, 0.18)]), "black", 1.0)
        motion = Motion("line", start, velocity=(v, 0.0, 0.0))
        builder.add(Prim("capsule", (0.22, 0.5, 0), (0, 0, 0), shirt, inst, "person", motion))
        builder.add(Prim("sphere", (0.12, 0, 0), (0, -0.86, 0), skin, inst, "person", motion))
        objects.append({"label": "person", "instance": inst, "position": start, "dynamic": True, "color": color,
                        "verb": "walks along the sidewalk"})
    builder.objects = buildings + objects
    elevation = rng.uniform(25.0, 65.0)
    azimuth = rng.uniform(-180.0, 180.0)
    el, az = math.radians(elevation), math.radians(azimuth)
    sun = (math.cos(el) * math.sin(az), -math.sin(el), math.cos(el) * math.cos(az))
    time_of_day = "late afternoon" if elevation < 35 else "midday" if elevation > 55 else "afternoon"
    light = Light("sun", direction=sun, color=(1.0, 0.95, 0.85) if elevation > 35 else (1.0, 0.85, 0.65),
                  ambient=(0.38, 0.41, 0.48), sky_zenith=(0.22, 0.42, 0.82), sky_horizon=(0.72, 0.82, 0.94))
    description = {
        "setting": "outdoor", "place": "street", "floor": "asphalt road with sidewalks", "time": time_of_day,
        "sun": {"elevation": elevation, "azimuth": azimuth}, "objects": builder.objects,
        "road_half_width": road_hw,
    }
    return Scene("outdoor", seed, builder.prims, light, traj, [], sky=True, description=description)
