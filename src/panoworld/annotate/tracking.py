"""Point tracking on ERP video: wrap-padded frames, frame-0 query grid, mapping back, seam merging.

Pixel coordinates are continuous (x, y) with pixel centres at integers (``panoworld.sphere``
convention); x of returned tracks is wrapped to [-0.5, W - 0.5) (``panoworld.sphere.wrap_x``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from panoworld.sphere import query_grid, wrap_dx, wrap_pad, wrap_x

from .cotracker import CoTracker3Offline

__all__ = ["track_erp", "merge_seam_tracks", "padded_to_erp"]


#: Most hand-overs of one point across the seam (each costs one more tracker pass; 3 cover > 2 full turns).
MAX_HANDOVERS = 3


@torch.inference_mode()
def track_erp(
    model: CoTracker3Offline,
    frames: torch.Tensor,
    *,
    grid_size: int = 30,
    pad_frac: float = 0.25,
    iters: int = 6,
    query_region: str = "erp",
    queries: torch.Tensor | None = None,
    merge: bool = True,
    handover: bool = True,
    bf16: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Track frame-0 query points through an ERP clip.

    Args:
        frames: (T, 3, H, W) in [0, 1].
        grid_size: the grid is grid_size x grid_size queries at frame 0.
        pad_frac: circular padding per side as a fraction of W (0.25 -> 1024 becomes 1536 px).
        query_region: ``"erp"`` places the grid on the ERP itself (no duplicated points);
            ``"padded"`` spreads it over the padded frame as the reference does (duplicates are merged).
        queries: (N, 2) frame-0 ERP pixel positions to track instead of the grid (e.g. a GT's query points).
        merge: (padded queries) link the copies of one point and the pieces that continue each other across the
            seam (see :func:`merge_seam_tracks`); ERP queries are each one point already (one track per query).
        handover: (ERP queries) a point that moves more than half the padding past the +-180-degree seam is
            re-queried at its copy on the other side of the padded frame and followed from there
            (:func:`_hand_over`), so it is wrapped instead of lost when it would leave the padded frame.
        bf16: bfloat16 autocast on CUDA.

    Returns:
        tracks (N, T, 2) float32 pixels in the H x W frame with x wrapped to [-0.5, W - 0.5);
        visibility (N, T) float32 in [0, 1] (CoTracker visibility x confidence).
    """
    param = next(model.parameters())
    t, _, height, width = frames.shape
    pad = int(round(pad_frac * width))
    wp = width + 2 * pad
    hm, wm = model.config.model_resolution
    padded = wrap_pad(frames, pad)
    video = F.interpolate(padded.to(param.device, torch.float32), (hm, wm), mode="bilinear", align_corners=True)
    video = video[None].to(param.dtype)
    sx, sy = (wm - 1) / (wp - 1), (hm - 1) / (height - 1)

    def run(query_frames: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Track (n, 2) padded-frame queries from their frames -> (n, T, 2) padded-frame positions, (n, T)."""
        rows = torch.cat([query_frames[:, None].float(), q[:, :1] * sx, q[:, 1:] * sy], dim=1)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16 and param.device.type == "cuda"):
            coords, vis, conf = model(video, rows[None].to(param.device), iters=iters)
        coords = coords[0].float().cpu().permute(1, 0, 2)  # N T 2
        return torch.stack([coords[..., 0] / sx, coords[..., 1] / sy], -1), (vis[0] * conf[0]).float().cpu().t()

    if queries is not None:
        q = torch.as_tensor(queries, dtype=torch.float32).reshape(-1, 2) + torch.tensor([float(pad), 0.0])
        region = "erp"
    elif query_region == "erp":
        q, region = query_grid(height, width, grid_size, x_offset=pad), "erp"
    elif query_region == "padded":
        q, region = query_grid(height, wp, grid_size), "padded"
    else:
        raise ValueError(f"query_region must be 'erp' or 'padded', got {query_region!r}")
    xy, soft = run(torch.zeros(len(q)), q)
    if handover and region == "erp" and pad > 0:
        xy, soft = _hand_over(run, q, xy, soft, width, pad)
    x, y = xy.unbind(-1)
    inside = (x >= -0.5) & (x <= wp - 0.5)
    soft = torch.where(inside, soft, torch.zeros_like(soft))
    padded_tracks = torch.stack([x, y.clamp(-0.5, height - 0.5)], dim=-1)
    if merge and region == "padded":
        tracks, soft, _ = merge_seam_tracks(padded_tracks, soft, width, pad)
        return tracks, soft
    return padded_to_erp(padded_tracks, pad, width), soft


def _hand_over(run, q: torch.Tensor, xy: torch.Tensor, soft: torch.Tensor, width: int, pad: int,
               threshold: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Follow points across the seam: at the first visible frame where a track is more than ``pad / 2`` past the
    seam (outside the ERP's columns in the padded frame), its copy W columns away is queried there and the copy's
    positions and visibility replace the track's from that frame on; repeated (:data:`MAX_HANDOVERS`) for points
    that go round. Every frame-0 query is tracked again with the copies, as the tracker's context.
    ``run(frames, queries)`` tracks padded-frame queries; ``xy`` (N, T, 2), ``soft`` (N, T) padded-frame results.
    """
    n, t = soft.shape
    frames = torch.arange(t)
    start = torch.zeros(n, dtype=torch.long)  # a track is owned by its latest copy from this frame on
    lo, hi = pad / 2 - 0.5, pad + width + pad / 2 - 0.5
    for _ in range(MAX_HANDOVERS):
        x = xy[..., 0]
        out = ((x < lo) | (x > hi)) & (soft > threshold) & (frames[None] > start[:, None])
        leaving = out.any(1)
        if not leaving.any():
            break
        idx = torch.nonzero(leaving)[:, 0]
        when = torch.where(out[idx], frames[None], t).amin(1)
        at = xy[idx, when]
        copies = torch.stack([at[:, 0] - width * torch.sign(at[:, 0] - (pad + width / 2 - 0.5)), at[:, 1]], -1)
        xy2, soft2 = run(torch.cat([torch.zeros(len(q)), when.float()]), torch.cat([q, copies]))
        later = frames[None] >= when[:, None]
        xy[idx] = torch.where(later[..., None], xy2[len(q):], xy[idx])
        soft[idx] = torch.where(later, soft2[len(q):], soft[idx])
        start[idx] = when
    return xy, soft


def padded_to_erp(tracks: torch.Tensor, pad: int, width: int) -> torch.Tensor:
    """(N, T, 2) padded-frame pixels -> ERP pixels with x wrapped to [-0.5, W - 0.5)."""
    return torch.stack([wrap_x(tracks[..., 0] - pad, width), tracks[..., 1]], dim=-1)


def merge_seam_tracks(
    tracks: torch.Tensor, visibility: torch.Tensor, width: int, pad: int, *, tol_px: float = 3.0, max_gap: int = 1,
    threshold: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor, list[list[int]]]:
    """Merge tracks that are one scene point seen through two copies of the seam in the padded frame.

    ``tracks`` are (N, T, 2) in the padded frame (x in [0, W + 2 pad)); copies of one point are exactly
    W apart there. Two tracks are linked when their x differ by W (within ``tol_px``, y within ``tol_px``)
    (a) on every frame where both are visible, or (b) when one stops being visible at frame t and the other
    becomes visible within ``max_gap`` frames (tolerance ``tol_px`` + 1.5 x the track's median speed, per frame
    of gap). Each linked group
    becomes one track: mean ERP position of its visible members per frame and maximum visibility.
    Returns (ERP tracks (M, T, 2) with x wrapped to [0, W), visibility (M, T), groups of input indices).
    """
    n, t, _ = tracks.shape
    if n == 0:
        return tracks, visibility, []
    vis = visibility > threshold
    dx = tracks[:, None, :, 0] - tracks[None, :, :, 0]
    copy_err = torch.minimum((dx - width).abs(), (dx + width).abs())
    dist = torch.maximum(copy_err, (tracks[:, None, :, 1] - tracks[None, :, :, 1]).abs())
    both = vis[:, None] & vis[None, :]
    worst = torch.where(both, dist, torch.zeros_like(dist)).amax(-1)
    linked = both.any(-1) & (worst < tol_px)
    frames = torch.arange(t)
    seen = vis.any(1)
    first = torch.where(seen, torch.where(vis, frames, t).amin(1), torch.full((n,), t))
    last = torch.where(seen, torch.where(vis, frames, -1).amax(1), torch.full((n,), -1))
    gap = first[None, :] - last[:, None]
    ar = torch.arange(n)
    end_pos, start_pos = tracks[ar, last.clamp(0, t - 1)], tracks[ar, first.clamp(0, t - 1)]
    hdx = end_pos[:, None, 0] - start_pos[None, :, 0]
    herr = torch.maximum(torch.minimum((hdx - width).abs(), (hdx + width).abs()),
                         (end_pos[:, None, 1] - start_pos[None, :, 1]).abs())
    step = (tracks[:, 1:] - tracks[:, :-1]).norm(dim=-1)
    moving = vis[:, 1:] & vis[:, :-1]
    speed = torch.where(moving, step, torch.nan).nanmedian(dim=1).values.nan_to_num(0.0)
    handover = (gap >= 1) & (gap <= max_gap) & (herr < (tol_px + 1.5 * speed[:, None]) * gap.clamp_min(1))
    adj = linked | handover | handover.t()
    adj.fill_diagonal_(False)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in adj.nonzero().tolist():
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    erp = padded_to_erp(tracks, pad, width)
    out_tracks, out_vis, out_groups = [], [], []
    for members in groups.values():
        m = torch.tensor(members)
        tr, w = erp[m], vis[m].float()
        ref = tr[0, :, 0]
        xs = ref + wrap_dx(tr[..., 0] - ref, width)
        w = torch.where((w.sum(0) > 0)[None], w, torch.ones_like(w))
        x = (xs * w).sum(0) / w.sum(0)
        y = (tr[..., 1] * w).sum(0) / w.sum(0)
        out_tracks.append(torch.stack([wrap_x(x, width), y], dim=-1))
        out_vis.append(visibility[m].amax(0))
        out_groups.append(members)
    return torch.stack(out_tracks), torch.stack(out_vis), out_groups
