"""Procedural rooms: walls / floor / ceiling with textures, furniture, windows, paintings, a door, a ceiling
lamp, and moving balls, boxes and people. All sizes in metres; the floor is y = 0 and up is -y."""

from __future__ import annotations

import math
import random

from .layout import Builder, camera_trajectory, clear_of, named, segment_rect_distance
from .scene import Decal, Light, Motion, Prim, Scene

__all__ = ["make_room"]

ROOMS = {
    "living room": ["sofa", "coffee table", "armchair", "bookshelf", "tv cabinet", "plant", "floor lamp", "rug"],
    "bedroom": ["bed", "nightstand", "wardrobe", "desk", "plant", "rug"],
    "office": ["desk", "desk", "bookshelf", "cabinet", "plant", "plant"],
    "kitchen": ["counter", "fridge", "dining table", "plant"],
}
WALL_PAINTS = ["cream", "white", "light grey", "sage", "beige", "sky blue", "pink"]
FABRICS = ["grey", "navy", "teal", "olive", "terracotta", "beige", "dark grey", "purple"]
WOODS = ["brown", "tan"]


def _furniture(name: str, rng: random.Random, builder: Builder) -> tuple[float, float, list, bool]:
    """Parts of one furniture item in its own frame (x along the wall, z out of the wall, y down, floor at 0).

    Returns (width, depth, parts, against_wall); a part is (kind, half_size, offset, material).
    """
    wood = builder.material("wood", rng.choice(WOODS), "tan", 1.0, word="wooden")
    fabric = builder.material("noise", rng.choice(FABRICS), "dark grey", 0.15, word="fabric")
    parts: list = []
    if name in ("sofa", "armchair"):
        w = rng.uniform(1.8, 2.3) if name == "sofa" else 0.9
        d = 0.9
        parts += [("box", (w / 2, 0.22, d / 2), (0, -0.22, 0), fabric),
                  ("box", (w / 2, 0.4, 0.1), (0, -0.4, -d / 2 + 0.1), fabric),
                  ("box", (0.1, 0.3, d / 2), (-w / 2 + 0.1, -0.3, 0), fabric),
                  ("box", (0.1, 0.3, d / 2), (w / 2 - 0.1, -0.3, 0), fabric)]
        return w, d, parts, True
    if name in ("coffee table", "dining table", "nightstand"):
        w, d, h = {"coffee table": (1.0, 0.6, 0.42), "dining table": (1.4, 0.9, 0.75), "nightstand": (0.5, 0.4, 0.55)}[name]
        parts.append(("box", (w / 2, 0.025, d / 2), (0, -h + 0.025, 0), wood))
        if name == "nightstand":
            parts.append(("box", (w / 2 - 0.02, (h - 0.05) / 2, d / 2 - 0.02), (0, -(h - 0.05) / 2, 0), wood))
        else:
            for sx in (-1, 1):
                for sz in (-1, 1):
                    parts.append(("cylinder", (0.03, (h - 0.05) / 2, 0), (sx * (w / 2 - 0.08), -(h - 0.05) / 2, sz * (d / 2 - 0.08)), wood))
        return w, d, parts, name == "nightstand"
    if name == "bookshelf":
        w, d, h = 1.0, 0.35, 1.9
        parts.append(("box", (w / 2, h / 2, d / 2), (0, -h / 2, 0), wood))
        books = builder.material("stripes", rng.choice(["red", "blue", "yellow", "green"]), rng.choice(["cream", "navy", "orange"]), 0.06, word="colourful")
        for row in range(4):
            parts.append(("box", (w / 2 - 0.06, 0.13, 0.02), (0, -0.3 - 0.42 * row, d / 2 + 0.01), books))
        return w, d, parts, True
    if name in ("tv cabinet", "cabinet"):
        w, d = 1.6, 0.45
        parts.append(("box", (w / 2, 0.25, d / 2), (0, -0.25, 0), wood))
        if name == "tv cabinet":
            screen = builder.material("noise", "black", "dark grey", 0.5, word="black")
            parts.append(("box", (0.6, 0.36, 0.03), (0, -0.95, -0.05), screen))
        return w, d, parts, True
    if name == "plant":
        pot = builder.material("flat", rng.choice(["terracotta", "white", "dark grey"]), "black", 1.0, word="ceramic")
        leaves = builder.material("noise", "green", "olive", 0.12, word="green")
        r = rng.uniform(0.3, 0.45)
        parts += [("cylinder", (0.18, 0.2, 0), (0, -0.2, 0), pot), ("sphere", (r, 0, 0), (0, -0.4 - r * 0.9, 0), leaves)]
        return 2 * r, 2 * r, parts, False
    if name == "floor lamp":
        metal = builder.material("flat", "black", "black", 1.0, word="black")
        shade = builder.material("flat", "cream", "cream", 1.0, emissive=0.9, word="glowing")
        parts += [("cylinder", (0.025, 0.75, 0), (0, -0.75, 0), metal), ("cylinder", (0.2, 0.15, 0), (0, -1.6, 0), shade)]
        return 0.45, 0.45, parts, False
    if name == "bed":
        w, d = 1.6, 2.0
        sheet = builder.material("flat", rng.choice(["white", "cream", "sky blue"]), "white", 1.0, word="soft")
        pillow = builder.material("flat", "white", "white", 1.0, word="white")
        parts += [("box", (w / 2, 0.2, d / 2), (0, -0.2, 0), wood), ("box", (w / 2 - 0.02, 0.1, d / 2 - 0.02), (0, -0.5, 0.02), sheet),
                  ("box", (w / 2, 0.5, 0.04), (0, -0.5, -d / 2 + 0.04), wood),
                  ("box", (0.32, 0.07, 0.2), (-0.38, -0.67, -d / 2 + 0.3), pillow), ("box", (0.32, 0.07, 0.2), (0.38, -0.67, -d / 2 + 0.3), pillow)]
        return w, d, parts, True
    if name == "wardrobe":
        parts.append(("box", (0.6, 1.05, 0.3), (0, -1.05, 0), wood))
        return 1.2, 0.6, parts, True
    if name == "desk":
        w, d = 1.3, 0.7
        screen = builder.material("noise", "black", "dark grey", 0.5, word="black")
        seat = builder.material("noise", rng.choice(FABRICS), "black", 0.1, word="fabric")
        parts += [("box", (w / 2, 0.025, d / 2), (0, -0.725, -0.3), wood), ("box", (0.03, 0.35, d / 2), (-w / 2 + 0.03, -0.35, -0.3), wood),
                  ("box", (0.03, 0.35, d / 2), (w / 2 - 0.03, -0.35, -0.3), wood), ("box", (0.28, 0.18, 0.02), (0, -1.0, -0.5), screen),
                  ("cylinder", (0.04, 0.2, 0), (0, -0.2, 0.4), seat), ("box", (0.24, 0.04, 0.24), (0, -0.44, 0.4), seat),
                  ("box", (0.24, 0.25, 0.03), (0, -0.73, 0.62), seat)]
        return w, d + 0.6, parts, True
    if name == "counter":
        w, d = rng.uniform(2.4, 3.4), 0.6
        body = builder.material("flat", rng.choice(["white", "sage", "navy", "cream"]), "white", 1.0, word="painted")
        top = builder.material("noise", "dark grey", "grey", 0.05, word="stone")
        parts += [("box", (w / 2, 0.43, d / 2), (0, -0.43, 0), body), ("box", (w / 2 + 0.02, 0.02, d / 2 + 0.02), (0, -0.88, 0), top),
                  ("box", (w / 2, 0.35, 0.17), (0, -1.85, -d / 2 + 0.17), body)]
        return w, d, parts, True
    if name == "fridge":
        steel = builder.material("noise", "light grey", "white", 0.3, word="steel")
        parts.append(("box", (0.4, 0.95, 0.35), (0, -0.95, 0), steel))
        return 0.8, 0.7, parts, True
    if name == "rug":
        rug = builder.material(rng.choice(["stripes", "checker"]), rng.choice(["red", "navy", "beige", "teal"]), "cream", 0.3, word="patterned")
        w, d = rng.uniform(1.6, 2.4), rng.uniform(1.2, 1.6)
        parts.append(("box", (w / 2, 0.005, d / 2), (0, -0.005, 0), rug))
        return w, d, parts, False
    raise ValueError(f"unknown furniture {name!r}")


def _place(name, rng, builder, room_hw, room_hd, path, placed) -> bool:
    """Place one item against a wall (or free-standing) away from the camera path; True when placed."""
    w, d, parts, wall = _furniture(name, rng, builder)
    for _ in range(40):
        if wall:
            side = rng.randrange(4)
            facing = [(-1, 0), (1, 0), (0, -1), (0, 1)][side]  # direction out of the wall into the room
            if facing[0] != 0:
                span = room_hd - w / 2 - 0.05
                if span <= 0:
                    continue
                cx, cz = -facing[0] * (room_hw - d / 2 - 0.02), rng.uniform(-span, span)
            else:
                span = room_hw - w / 2 - 0.05
                if span <= 0:
                    continue
                cx, cz = rng.uniform(-span, span), -facing[1] * (room_hd - d / 2 - 0.02)
        else:
            facing = rng.choice([(0, 1), (1, 0)])
            cx, cz = rng.uniform(-room_hw + 0.6, room_hw - 0.6), rng.uniform(-room_hd + 0.6, room_hd - 0.6)
        along_x = facing[0] == 0
        ex, ez = (w / 2, d / 2) if along_x else (d / 2, w / 2)
        rect = (cx - ex, cx + ex, cz - ez, cz + ez)
        if abs(cx) + ex > room_hw or abs(cz) + ez > room_hd:
            continue
        if segment_rect_distance(path, rect) < (0.15 if name == "rug" else 0.7):
            continue
        if name != "rug" and not all(clear_of(rect, other, 0.1) for other, flat in placed if not flat):
            continue
        if name == "rug" and not all(clear_of(rect, other, 0.05) for other, flat in placed if flat):
            continue
        inst = builder.new_instance(name)
        for kind, half, off, mat in parts:
            ox, oy, oz = off
            if along_x:
                wx, wz = cx + ox, cz + oz * facing[1]
                size = half
            else:
                wx, wz = cx + oz * facing[0], cz + ox
                size = (half[2], half[1], half[0]) if kind == "box" else half
            builder.add(Prim(kind, tuple(size), (wx, oy, wz), mat, inst, name))
        builder.objects.append({"label": name, "instance": inst, "position": (cx, 0.0, cz), "dynamic": False,
                                "material": parts[0][3].name})
        placed.append((rect, name == "rug"))
        return True
    return False


def _movers(rng, builder, room_hw, room_hd, path, placed, count):
    """Add ``count`` moving objects (balls, a bouncing ball, a sliding box, a person) on free lines."""
    kinds = ["ball", "bouncing ball", "person", "box"]
    for _ in range(count):
        kind = rng.choice(kinds)
        r = {"ball": rng.uniform(0.12, 0.22), "bouncing ball": rng.uniform(0.1, 0.18), "person": 0.25, "box": 0.3}[kind]
        for _ in range(60):
            a = (rng.uniform(-room_hw + r + 0.2, room_hw - r - 0.2), rng.uniform(-room_hd + r + 0.2, room_hd - r - 0.2))
            b = (rng.uniform(-room_hw + r + 0.2, room_hw - r - 0.2), rng.uniform(-room_hd + r + 0.2, room_hd - r - 0.2))
            if math.dist(a, b) < 1.5:
                continue
            seg = (a, b)
            if any(segment_rect_distance(seg, rect) < r + 0.05 for rect, flat in placed if not flat):
                continue
            if _segments_close(seg, path, r + 0.55):
                continue
            break
        else:
            continue
        color_name = rng.choice(["red", "orange", "yellow", "blue", "green", "purple", "pink", "teal"])
        inst = builder.new_instance(kind)
        speed = {"ball": rng.uniform(0.8, 1.6), "bouncing ball": rng.uniform(0.6, 1.2), "person": rng.uniform(0.7, 1.2), "box": rng.uniform(0.4, 0.8)}[kind]
        if kind in ("ball", "bouncing ball"):
            mat = builder.material("ball", color_name, "white", r, word="striped")
            motion = Motion("pingpong" if kind == "ball" else "bounce", (a[0], -r, a[1]), (b[0], -r, b[1]), speed=speed,
                            roll_radius=r if kind == "ball" else 0.0, hop=rng.uniform(0.4, 0.9), period=rng.uniform(0.6, 1.0))
            builder.add(Prim("sphere", (r, 0, 0), (0, 0, 0), mat, inst, kind, motion))
            verb = "rolls back and forth across the floor" if kind == "ball" else "bounces across the room"
        elif kind == "box":
            mat = builder.material("checker", color_name, "white", 0.1, word="checkered")
            motion = Motion("pingpong", (a[0], -0.15, a[1]), (b[0], -0.15, b[1]), speed=speed)
            builder.add(Prim("box", (0.2, 0.15, 0.2), (0, 0, 0), mat, inst, "toy box", motion))
            verb = "slides back and forth over the floor"
            kind = "toy box"
        else:
            shirt = builder.material("person", color_name, rng.choice(["navy", "black", "dark grey", "tan"]), 0.72, word=color_name)
            skin = builder.material("flat", rng.choice([(0.85, 0.67, 0.55), (0.6, 0.42, 0.3), (0.4, 0.27, 0.18)]), "black", 1.0)
            if rng.random() < 0.5:
                motion = Motion("pingpong", (a[0], -0.72, a[1]), (b[0], -0.72, b[1]), speed=speed)
                verb = "walks back and forth"
            else:
                c = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                rad = min(math.dist(a, b) / 2, room_hw - abs(c[0]) - 0.4, room_hd - abs(c[1]) - 0.4)
                if rad < 0.6 or _segments_close(((c[0] - rad, c[1] - rad), (c[0] + rad, c[1] + rad)), path, rad + 0.5) or any(
                    segment_rect_distance(((c[0], c[1]), (c[0], c[1])), rect) < rad + 0.3 for rect, flat in placed if not flat
                ):
                    motion = Motion("pingpong", (a[0], -0.72, a[1]), (b[0], -0.72, b[1]), speed=speed)
                    verb = "walks back and forth"
                else:
                    motion = Motion("circle", (c[0], -0.72, c[1]), radius=rad, speed=speed, phase=rng.uniform(0, 360))
                    verb = "walks in a slow circle"
            builder.add(Prim("capsule", (0.22, 0.5, 0), (0, 0, 0), shirt, inst, "person", motion))
            builder.add(Prim("sphere", (0.12, 0, 0), (0, -0.86, 0), skin, inst, "person", motion))
            kind = "person"
        builder.objects.append({"label": kind, "instance": inst, "position": (a[0], 0.0, a[1]), "dynamic": True,
                                "color": color_name, "verb": verb})
        placed.append(((min(a[0], b[0]) - r, max(a[0], b[0]) + r, min(a[1], b[1]) - r, max(a[1], b[1]) + r), True))


def _segments_close(seg_a, seg_b, dist: float) -> bool:
    """True when two 2-D segments come closer than ``dist`` (sampled; both are short)."""
    (ax, az), (bx, bz) = seg_a
    for i in range(21):
        s = i / 20
        p = (ax + (bx - ax) * s, az + (bz - az) * s)
        if segment_rect_distance(seg_b, (p[0], p[0], p[1], p[1])) < dist:
            return True
    return False


def make_room(seed: int, trajectory: str, rng: random.Random) -> Scene:
    """A furnished room with a camera trajectory of kind ``trajectory``."""
    room_type = rng.choice(sorted(ROOMS))
    hw, hd, height = rng.uniform(2.4, 4.0), rng.uniform(2.4, 4.5), rng.uniform(2.6, 3.1)
    builder = Builder()
    floor_name = {"kitchen": rng.choice(["tiles", "checker"]), "bedroom": rng.choice(["wood", "noise"])}.get(room_type, rng.choice(["wood", "tiles", "wood"]))
    floor = {
        "wood": builder.material("wood", rng.choice(WOODS), "brown", 1.0, word="wooden"),
        "tiles": builder.material("tiles", rng.choice(["light grey", "beige", "white"]), "grey", rng.choice([0.4, 0.6]), word="tiled"),
        "checker": builder.material("checker", "white", "black", 0.4, word="checkered"),
        "noise": builder.material("noise", rng.choice(["beige", "grey", "sage"]), "light grey", 0.2, word="carpeted"),
    }[floor_name]
    paint = rng.choice(WALL_PAINTS)
    light_paint = tuple(0.75 * c + 0.25 * w for c, w in zip(named(paint), named("white")))
    wall_kind = rng.choice(["paint", "paint", "stripes", "brick"])
    wall = {
        "paint": builder.material("noise", paint, light_paint, 0.8, word="painted"),
        "stripes": builder.material("stripes", paint, "white", 0.3, word="striped"),
        "brick": builder.material("brick", rng.choice(["terracotta", "red", "cream"]), "light grey", 0.5, word="brick"),
    }[wall_kind]
    plain = builder.material("noise", paint, light_paint, 0.8, word="painted")
    ceiling = builder.material("noise", "white", "light grey", 1.5, word="white")
    walls = [wall if wall_kind != "brick" or i == 0 else plain for i in range(4)]
    builder.add(Prim("room", (hw, height / 2, hd), (0.0, -height / 2, 0.0),
                     (walls[0], walls[1], ceiling, floor, walls[2], walls[3]), 1, "room"))
    traj, path = camera_trajectory(rng, trajectory, (hw - 0.9, hd - 0.9), height_range=(1.3, 1.7), speed=(0.15, 0.3))
    lamp_mat = builder.material("flat", "white", "white", 1.0, emissive=1.0, word="glowing")
    lx, lz = rng.uniform(-0.3, 0.3) * hw, rng.uniform(-0.3, 0.3) * hd
    builder.add(Prim("cylinder", (0.3, 0.04, 0), (lx, -height + 0.04, lz), lamp_mat, builder.new_instance("ceiling lamp"), "ceiling lamp"))
    placed: list = []
    items = list(ROOMS[room_type])
    rng.shuffle(items)
    for name in items:
        _place(name, rng, builder, hw, hd, path, placed)
    _movers(rng, builder, hw, hd, path, placed, rng.choice([1, 2, 2, 3]))
    decals = _decals(rng, hw, hd, height)
    warm = rng.uniform(0.9, 1.0)
    light = Light("point", position=(lx, -height + 0.35, lz), color=(1.0 * warm, 0.96 * warm, 0.88 * warm),
                  ambient=(0.55, 0.55, 0.57), sky_zenith=(0.35, 0.55, 0.9), sky_horizon=(0.85, 0.9, 0.95))
    description = {
        "setting": "indoor", "place": room_type, "floor": floor.name, "walls": f"{wall.name}",
        "ceiling": "white ceiling", "light": "a round ceiling lamp",
        "windows": sum(d.kind == "window" for d in decals), "paintings": sum(d.kind == "painting" for d in decals),
        "doors": sum(d.kind == "door" for d in decals), "decals": [(d.kind, d.center) for d in decals],
        "objects": builder.objects, "size": (2 * hw, 2 * hd, height),
    }
    return Scene("indoor", seed, builder.prims, light, traj, decals, sky=False, description=description)


def _decals(rng, hw, hd, height) -> list[Decal]:
    """Windows, paintings and one door on the walls, not overlapping each other."""
    out: list[Decal] = []
    used: dict[int, list[tuple[float, float]]] = {0: [], 1: [], 2: [], 3: []}
    wanted = ["door"] + ["window"] * rng.randint(1, 2) + ["painting"] * rng.randint(1, 3)
    for kind in wanted:
        half = {"door": (0.45, 1.0), "window": (rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.7)),
                "painting": (rng.uniform(0.3, 0.55), rng.uniform(0.22, 0.4))}[kind]
        cy = {"door": -1.0, "window": -1.5, "painting": -1.6}[kind]
        for _ in range(30):
            side = rng.randrange(4)
            span = (hd if side < 2 else hw) - half[0] - 0.2
            if span <= 0:
                continue
            u = rng.uniform(-span, span)
            if any(abs(u - v) < half[0] + h + 0.2 for v, h in used[side]):
                continue
            used[side].append((u, half[0]))
            axis = 0 if side < 2 else 2
            sign = 1 if side % 2 == 0 else -1
            center = (sign * hw, cy, u) if axis == 0 else (u, cy, sign * hd)
            color = named(rng.choice(["red", "blue", "yellow", "teal", "orange", "purple"])) if kind == "painting" else named(rng.choice(["brown", "white", "tan"]))
            out.append(Decal(kind, axis, center, half, color))
            break
    return out
