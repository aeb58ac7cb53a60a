"""Captions in the reference's ``{short, medium, long}`` style (reference section 8.2), written from the
scene description: the long caption walks around the frame-0 camera (front / right / behind / left)."""

from __future__ import annotations

import math
import random

from .scene import Scene

__all__ = ["make_captions", "sector_of"]

SECTORS = ("front", "right", "behind", "left")
_LEADS = {"front": "In the front", "right": "To the right", "behind": "Behind the camera", "left": "On the left"}


def sector_of(position, camera_position, yaw_deg: float) -> str:
    """Which quarter (front / right / behind / left) of a camera at ``camera_position`` looking along
    ``yaw_deg`` holds a world point (x, y, z); yaw turns right, as in ``panoworld.sphere``."""
    dx, dz = position[0] - camera_position[0], position[2] - camera_position[2]
    az = math.degrees(math.atan2(dx, dz)) - yaw_deg
    az = (az + 180.0) % 360.0 - 180.0
    if abs(az) <= 45.0:
        return "front"
    if 45.0 < az <= 135.0:
        return "right"
    if -135.0 <= az < -45.0:
        return "left"
    return "behind"


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _plural(label: str, count: int) -> str:
    words = {1: "", 2: "two ", 3: "three ", 4: "four "}
    if count == 1:
        return _article(label)
    noun = label[:-1] + "ies" if label.endswith("y") and label[-2:] != "ey" else label + ("es" if label.endswith(("s", "sh", "ch")) else "s")
    noun = "people" if label == "person" else noun
    return f"{words.get(count, 'several ')}{noun}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _camera_sentence(scene: Scene) -> str:
    traj = scene.trajectory
    turn = "right" if traj.yaw_rate > 0 else "left"
    return {
        "static": "The camera remains static.",
        "rotate": f"The camera slowly pans to the {turn}.",
        "walk": "The camera moves slowly forward.",
        "walk_rotate": f"The camera moves forward while turning to the {turn}.",
    }[traj.kind]


def _sector_items(scene: Scene) -> dict[str, list[str]]:
    """Static things per sector as noun phrases, nearest first."""
    cam, yaw = scene.trajectory.start, scene.trajectory.yaw
    per: dict[str, dict[str, list]] = {s: {} for s in SECTORS}
    desc = scene.description
    things = [o for o in desc.get("objects", []) if not o["dynamic"]]
    for kind, center in desc.get("decals", []):
        things.append({"label": kind, "position": center, "material": ""})
    for obj in things:
        sec = sector_of(obj["position"], cam, yaw)
        dist = math.hypot(obj["position"][0] - cam[0], obj["position"][2] - cam[2])
        label = obj["label"]
        per[sec].setdefault(label, []).append((dist, obj.get("material", "")))
    out: dict[str, list[str]] = {}
    for sec, groups in per.items():
        ranked = sorted(groups.items(), key=lambda kv: min(d for d, _ in kv[1]))
        phrases = []
        for label, entries in ranked[:3]:
            if len(entries) == 1 and entries[0][1] and label not in ("window", "door", "painting"):
                phrases.append(_article(f"{entries[0][1]} {label}"))
            else:
                phrases.append(_plural(label, len(entries)))
        out[sec] = phrases
    return out


def _movers(scene: Scene) -> list[str]:
    cam, yaw = scene.trajectory.start, scene.trajectory.yaw
    out = []
    for obj in scene.description.get("objects", []):
        if obj["dynamic"]:
            label = f"person in {_article(obj['color'] + ' shirt')}" if obj["label"] == "person" else f"{obj['color']} {obj['label']}"
            where = sector_of(obj["position"], cam, yaw)
            out.append(f"{_article(label)} {obj['verb']}" + ("" if where == "front" else f" {'behind the camera' if where == 'behind' else 'on the ' + where}"))
    return out


def make_captions(scene: Scene) -> dict[str, str]:
    """``{"short", "medium", "long"}`` captions (about 5-15, 35-60 and 90-130 words), deterministic per scene."""
    rng = random.Random(scene.seed * 7919 + 17)
    desc = scene.description
    movers = _movers(scene)
    motion = (movers[0][0].upper() + movers[0][1:] + (f", while {movers[1]}" if len(movers) > 1 else "") + ". "
              if movers else "")
    sectors = _sector_items(scene)
    camera = _camera_sentence(scene)
    if scene.kind == "indoor":
        place = desc["place"]
        adjective = rng.choice(["cozy", "bright", "quiet", "tidy", "simple", "warm"])
        short = f"A {adjective} {place}" + (f" where {movers[0]}" if movers else "") + "."
        furniture = [o for o in desc["objects"] if not o["dynamic"]][:3]
        things = _join([_article(f"{o['material']} {o['label']}") for o in furniture]) or "plain furniture"
        windows = desc.get("windows", 0)
        window_text = f"{_plural('window', windows)} letting in daylight" if windows else "no windows"
        medium = (
            f"A {adjective} {place} with {desc['floor']} floors and {desc['walls']} walls. "
            f"It contains {things}, with {window_text} and {desc['light']} overhead. "
            + motion
            + camera
        )
        opening = (
            f"A {adjective} {place} lit by {desc['light']} and soft daylight, with {desc['floor']} floors, "
            f"{desc['walls']} walls and a {desc['ceiling']}."
        )
        mood = rng.choice(["The atmosphere feels calm and lived-in.", "The mood is relaxed and homely.",
                           "The space feels orderly and quiet.", "The scene feels warm and peaceful."])
        empty = "a bare stretch of wall"
    else:
        time = desc.get("time", "afternoon")
        adjective = rng.choice(["sunny", "quiet", "busy", "calm", "bright"])
        short = f"A {adjective} city street in the {time}" + (f" where {movers[0]}" if movers else "") + "."
        heights = [o["height"] for o in desc["objects"] if o["label"] == "building"]
        tallest = max(heights) if heights else 10.0
        kinds = sorted({o["color"] for o in desc["objects"] if o["label"] == "building"})[:3]
        medium = (
            f"A {adjective} city street in the {time} under a blue sky with scattered clouds. "
            f"{_join(kinds).capitalize()} buildings up to {round(tallest / 3):d} storeys line an asphalt road with "
            f"sidewalks, trees and street lamps. "
            + motion
            + camera
        )
        opening = (
            f"A {adjective} city street in {time} sunlight, with crisp shadows on the asphalt and pale concrete "
            f"sidewalks under a blue sky with scattered white clouds."
        )
        mood = rng.choice(["The atmosphere feels open and relaxed.", "The mood is calm and urban.",
                           "The scene feels bright and lively."])
        empty = "the open street"
    parts = [opening]
    for sec in SECTORS:
        items = sectors.get(sec) or [empty]
        verb = "is" if len(items) == 1 and not items[0].startswith(("two", "three", "four", "several")) else "are"
        parts.append(f"{_LEADS[sec]} {verb} {_join(items)}.")
    if movers:
        parts.append(_join([m[0].upper() + m[1:] if i == 0 else m for i, m in enumerate(movers)]) + ".")
    parts.append(camera)
    parts.append(mood)
    long = " ".join(parts)
    return {"short": short, "medium": medium, "long": long}
