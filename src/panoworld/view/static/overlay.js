/* Drawing over the flat ERP video: the input's field of view and point tracks with trails.
   Positions are fractions of the frame: u to the right (0 = longitude -180°), v down (0 = north pole). */
"use strict";

window.PanoworldOverlay = (() => {
  const TRAIL_SECONDS = 1.0;

  /** Match the canvas to the video's displayed size; returns [context, width, height] in CSS pixels. */
  function fit(canvas, video) {
    const w = video.clientWidth, h = video.clientHeight, ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return [ctx, w, h];
  }

  /** Stroke a polyline of {u, v} points, lifting the pen where it crosses the left/right seam. */
  function strokeUv(ctx, points, w, h, closed) {
    const pts = closed ? points.concat([points[0]]) : points;
    ctx.beginPath();
    pts.forEach((p, i) => {
      const jump = i === 0 || Math.abs(p.u - pts[i - 1].u) > 0.5;
      if (jump) ctx.moveTo(p.u * w, p.v * h);
      else ctx.lineTo(p.u * w, p.v * h);
    });
    ctx.stroke();
  }

  function drawFov(ctx, outline, w, h) {
    const points = outline.map(([lon, lat]) => ({ u: (lon + 180) / 360, v: (90 - lat) / 180 }));
    ctx.strokeStyle = "#ff4040";
    ctx.lineWidth = 2;
    strokeUv(ctx, points, w, h, true);
  }

  function sample(track, k) {
    return { u: track.uv[2 * k], v: track.uv[2 * k + 1], visible: track.vis[k] === "1" };
  }

  /** Index of the last time <= t (0 before the first). */
  function before(times, t) {
    let k = 0;
    while (k + 1 < times.length && times[k + 1] <= t) k++;
    return k;
  }

  /** The track at time t, interpolated between its samples along the shorter way round the seam. */
  function position(track, times, k, t) {
    const a = sample(track, k);
    if (k + 1 >= times.length || t <= times[k]) return a;
    const b = sample(track, k + 1);
    const f = (t - times[k]) / (times[k + 1] - times[k]);
    let du = b.u - a.u;
    if (du > 0.5) du -= 1;
    if (du < -0.5) du += 1;
    return { u: (((a.u + f * du) % 1) + 1) % 1, v: a.v + f * (b.v - a.v), visible: a.visible && b.visible };
  }

  function drawTracks(ctx, payload, t, w, h) {
    const times = payload.times;
    const k = before(times, t);
    ctx.lineWidth = 1.5;
    for (const track of payload.tracks) {
      const first = sample(track, 0);
      const colour = `hsl(${Math.round(first.u * 360)}, 90%, ${Math.round(45 + 25 * first.v)}%)`;
      ctx.strokeStyle = ctx.fillStyle = colour;
      let trail = [];
      for (let j = 0; j <= k; j++) {
        if (times[j] < t - TRAIL_SECONDS) continue;
        const p = sample(track, j);
        if (!p.visible) {
          if (trail.length > 1) strokeUv(ctx, trail, w, h, false);
          trail = [];
          continue;
        }
        trail.push(p);
      }
      const now = position(track, times, k, t);
      if (now.visible) trail.push(now);
      if (trail.length > 1) strokeUv(ctx, trail, w, h, false);
      if (now.visible) {
        ctx.beginPath();
        ctx.arc(now.u * w, now.v * h, 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }

  /** Redraw the overlay for time t (seconds). state: {outline, showFov, tracks, showTracks}. */
  function draw(canvas, video, state, t) {
    const [ctx, w, h] = fit(canvas, video);
    if (!w || !h) return;
    if (state.tracks && state.showTracks) drawTracks(ctx, state.tracks, t, w, h);
    if (state.outline && state.showFov) drawFov(ctx, state.outline, w, h);
  }

  return { draw };
})();
