"""Camera motion from lifted tracks: rotation-only and 6-DoF RANSAC (Kabsch via
:func:`panoworld.registration.align_points`), poses, stabilisation.

Points are (N, T, 3) in each frame's camera (OpenCV frame), NaN when invisible. The motion of frame t is
the point transform ``P_t = R_t P_0 + t_t`` (frame-0 camera -> frame-t camera, the reference's
``camera_poses.npy`` meaning); the camera-to-world pose of frame t with the world = frame-0 camera is
``[R_t^T | -R_t^T t_t]``. Unlike the reference, a camera that translates without rotating is detected
as moving: translation is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..registration import align_points

__all__ = [
    "ransac_rotation", "ransac_rigid", "CameraMotion", "estimate_camera_motion", "motion_inliers",
    "stabilise",
]


def _angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between (..., 3) vectors."""
    cross = torch.linalg.vector_norm(torch.cross(a, b, dim=-1), dim=-1)
    return torch.rad2deg(torch.atan2(cross, (a * b).sum(-1)))


def _samples(n: int, k: int, size: int, gen: torch.Generator) -> torch.Tensor:
    return torch.argsort(torch.rand(k, n, generator=gen), dim=1)[:, :size]


def ransac_rotation(b0: torch.Tensor, bt: torch.Tensor, *, iters: int = 200, thr_deg: float = 2.0, seed: int = 0):
    """Rotation R with ``bt ≈ R b0`` from (M, 3) unit bearings; returns (R, inlier mask (M,))."""
    m = b0.shape[0]
    if m < 3:
        return torch.eye(3, dtype=b0.dtype), torch.zeros(m, dtype=torch.bool)
    idx = _samples(m, iters, 3, torch.Generator().manual_seed(seed))
    r = align_points(b0[idx], bt[idx], with_translation=False).rotation
    err = _angle((r[:, None] @ b0[None, :, :, None])[..., 0], bt[None])
    best = (err < thr_deg).sum(1).argmax()
    inl = err[best] < thr_deg
    for _ in range(2):
        r1 = align_points(b0[inl], bt[inl], with_translation=False).rotation
        inl = _angle(b0 @ r1.t(), bt) < thr_deg
    return r1, inl


def ransac_rigid(
    p0: torch.Tensor, pt: torch.Tensor, *, iters: int = 300, thr_deg: float = 2.0, rel_range: float = 0.05,
    seed: int = 0,
):
    """Rigid (R, t) with ``pt ≈ R p0 + t`` from (M, 3) points; inliers by bearing and relative range error.

    Refits weight points by 1 / range² because depth errors grow with range.
    """
    m = p0.shape[0]
    if m < 4:
        return torch.eye(3, dtype=p0.dtype), torch.zeros(3, dtype=p0.dtype), torch.zeros(m, dtype=torch.bool)

    def inliers(r, t):
        pred = (r @ p0[..., None])[..., 0] + t[..., None, :] if r.dim() == 3 else p0 @ r.t() + t
        rng_pred = torch.linalg.vector_norm(pred, dim=-1)
        rng_obs = torch.linalg.vector_norm(pt, dim=-1)
        return (_angle(pred, pt.expand_as(pred)) < thr_deg) & ((rng_pred - rng_obs).abs() < rel_range * rng_obs)

    weight = 1.0 / torch.maximum(p0.norm(dim=-1), pt.norm(dim=-1)).clamp_min(1e-6) ** 2
    idx = _samples(m, iters, 4, torch.Generator().manual_seed(seed))
    _, r, t = align_points(p0[idx], pt[idx])
    pred = (r[:, None] @ p0[None, :, :, None])[..., 0] + t[:, None]
    rng_obs = torch.linalg.vector_norm(pt, dim=-1)
    ok = (_angle(pred, pt[None].expand_as(pred)) < thr_deg) & (
        (torch.linalg.vector_norm(pred, dim=-1) - rng_obs).abs() < rel_range * rng_obs
    )
    inl = ok[ok.sum(1).argmax()]
    r1, t1 = r[0], t[0]
    for _ in range(2):
        if inl.sum() < 3:
            break
        _, r1, t1 = align_points(p0[inl], pt[inl], weight[inl])
        inl = inliers(r1, t1)
    return r1, t1, inl


@dataclass
class CameraMotion:
    """Result of :func:`estimate_camera_motion` (float64 tensors)."""

    rotation: torch.Tensor  # (T, 3, 3) point transform frame 0 -> frame t
    translation: torch.Tensor  # (T, 3) metres
    inliers: torch.Tensor  # (N, T) bool: consistent with the camera motion
    method: str  # "static" | "rotation" | "6dof"
    inlier_ratio: float

    @property
    def is_static(self) -> bool:
        return self.method == "static"

    def camera_to_world(self) -> torch.Tensor:
        """(T, 4, 4) camera-to-world poses; world = frame-0 camera (OpenCV axes)."""
        t = self.rotation.shape[0]
        pose = torch.eye(4, dtype=self.rotation.dtype).repeat(t, 1, 1)
        rt = self.rotation.transpose(-1, -2)
        pose[:, :3, :3] = rt
        pose[:, :3, 3] = -(rt @ self.translation[..., None])[..., 0]
        return pose

    def as_rows(self) -> torch.Tensor:
        """(T, 12) ``[R row-major (9), t (3)]`` as in the reference's ``camera_poses.npy``."""
        return torch.cat([self.rotation.reshape(-1, 9), self.translation], dim=1)


def estimate_camera_motion(
    points: torch.Tensor,
    *,
    rot_thr_deg: float = 0.5,
    trans_thr_m: float = 0.05,
    trans_rel: float = 0.01,
    inlier_thr_deg: float = 2.0,
    seed: int = 0,
) -> CameraMotion:
    """Per-frame motion relative to frame 0 from (N, T, 3) lifted points (NaN = invisible).

    The clip is ``static`` when every frame's rotation is below ``rot_thr_deg`` and its translation below
    ``max(trans_thr_m, trans_rel * median range)``; ``rotation`` when only the rotation exceeds it; else ``6dof``.
    """
    p = points.double()
    n, t, _ = p.shape
    valid = torch.isfinite(p).all(-1)
    eye = torch.eye(3, dtype=torch.float64)
    rots_r, rots_6, trans_6 = [eye], [eye], [torch.zeros(3, dtype=torch.float64)]
    for k in range(1, t):
        m = valid[:, 0] & valid[:, k]
        p0, pk = p[m, 0], p[m, k]
        b0 = p0 / torch.linalg.vector_norm(p0, dim=-1, keepdim=True)
        bk = pk / torch.linalg.vector_norm(pk, dim=-1, keepdim=True)
        rots_r.append(ransac_rotation(b0, bk, thr_deg=inlier_thr_deg, seed=seed + k)[0])
        r6, t6, _ = ransac_rigid(p0, pk, thr_deg=inlier_thr_deg, seed=seed + k)
        rots_6.append(r6)
        trans_6.append(t6)
    rot_r, rot_6, tr_6 = torch.stack(rots_r), torch.stack(rots_6), torch.stack(trans_6)
    med_range = torch.linalg.vector_norm(p[valid], dim=-1).median() if valid.any() else torch.tensor(1.0)
    trans_thr = max(trans_thr_m, trans_rel * float(med_range))
    angle = lambda r: torch.rad2deg(torch.arccos(((r.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)))
    translating = bool((torch.linalg.vector_norm(tr_6, dim=-1) > trans_thr).any())
    rotating = bool((angle(rot_r) > rot_thr_deg).any())
    if translating:
        method, rot, tr = "6dof", rot_6, tr_6
    elif rotating:
        method, rot, tr = "rotation", rot_r, torch.zeros_like(tr_6)
    else:
        method, rot, tr = "static", eye.repeat(t, 1, 1), torch.zeros_like(tr_6)
    pred = (rot[None] @ p[:, :1, :, None])[..., 0] + tr[None]
    err = _angle(pred, p)
    inl = valid & valid[:, :1] & (err < inlier_thr_deg)
    denom = (valid & valid[:, :1])[:, 1:].sum()
    ratio = float(inl[:, 1:].sum() / denom) if denom > 0 else 1.0
    return CameraMotion(rot, tr, inl, method, ratio)


def motion_inliers(points: torch.Tensor, motion: CameraMotion, *, at_infinity: torch.Tensor | None = None,
                   thr_deg: float = 2.0) -> torch.Tensor:
    """(N, T) bool: the bearing of each visible point agrees with frame 0 moved by the camera motion.

    Points flagged ``at_infinity`` (N, T) (e.g. sky) are checked against the rotation alone.
    """
    p = points.double()
    valid = torch.isfinite(p).all(-1) & torch.isfinite(p[:, :1]).all(-1)
    rotated = (motion.rotation[None] @ p[:, :1, :, None])[..., 0]
    pred = rotated + motion.translation[None]
    if at_infinity is not None:
        pred = torch.where(at_infinity[..., None] | at_infinity[:, :1, None], rotated, pred)
    return valid & (_angle(pred, p) < thr_deg)


def stabilise(points: torch.Tensor, motion: CameraMotion) -> torch.Tensor:
    """(N, T, 3) camera-frame points -> frame-0 camera axes: ``R_t^T (P_t - t_t)`` (NaN stays NaN)."""
    p = points.double() - motion.translation[None]
    return (motion.rotation.transpose(-1, -2)[None] @ p[..., None])[..., 0]
