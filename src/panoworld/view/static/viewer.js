/* The page: a clip chooser, the 360° player (Photo Sphere Viewer), and flat views that follow its clock.
   Data: window.PANOWORLD_VIEW, written by panoworld.view (see docs/view.md). */
"use strict";

(() => {
  const DATA = window.PANOWORLD_VIEW;
  const { Viewer } = PanoworldVendor.get("@photo-sphere-viewer/core");
  const { VideoPlugin } = PanoworldVendor.get("@photo-sphere-viewer/video-plugin");
  const { EquirectangularVideoAdapter } = PanoworldVendor.get("@photo-sphere-viewer/equirectangular-video-adapter");
  const { MarkersPlugin } = PanoworldVendor.get("@photo-sphere-viewer/markers-plugin");

  const $ = (selector, root = document) => root.querySelector(selector);
  const el = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };
  const rad = (deg) => (deg * Math.PI) / 180;
  const fmt = (x) => (Number.isFinite(x) ? `${Math.round(x * 10) / 10}°` : "?");

  const flatVideo = $("#flat video");
  const overlay = { outline: null, tracks: null, showFov: true, showTracks: true };
  const followers = [flatVideo, $("#depth video"), $("#cube video")];
  let compareVideos = [];
  let sphere = null;
  let clip = null;

  function createSphere(url, input) {
    sphere = new Viewer({
      container: "sphere",
      adapter: EquirectangularVideoAdapter.withConfig({ muted: true, autoplay: false }),
      panorama: { source: url },
      plugins: [VideoPlugin.withConfig({ progressbar: true, bigbutton: true }), MarkersPlugin],
      navbar: ["videoPlay", "videoTime", "zoom", "fullscreen"],
      defaultYaw: input ? rad(input.yaw) : 0,
      defaultPitch: input ? rad(input.pitch) : 0,
      minFov: 30,
      maxFov: 120,
      defaultZoomLvl: 30,
      mousewheel: true,
      touchmoveTwoFingers: false,
    });
    return new Promise((resolve) => sphere.addEventListener("ready", resolve, { once: true }));
  }

  function setFovMarker(input) {
    const markers = sphere.getPlugin(MarkersPlugin);
    markers.clearMarkers();
    if (!input || !input.outline) return;
    markers.addMarker({
      id: "input-fov",
      polygon: input.outline.map(([lon, lat]) => [rad(lon), rad(lat)]),
      svgStyle: { fill: "rgba(255, 64, 64, 0.08)", stroke: "#ff4040", strokeWidth: "2px" },
      tooltip: "field of view of the input photo",
    });
  }

  function showLegend(legend) {
    $("#depth .bar").style.background = `linear-gradient(to right, ${legend.colours.join(", ")})`;
    const ticks = $("#depth .ticks");
    ticks.replaceChildren(...legend.ticks.map((t) => el("span", {
      textContent: t.label, style: `left: ${100 * t.at}%`,
    })));
    $("#depth .legend").title = `near ${legend.near_m} m (red) to far ${legend.far_m} m (blue), log scale`;
  }

  function showCube(cube) {
    const labels = $("#cube .face-labels");
    labels.replaceChildren(...cube.names.map((name, i) => {
      const [row, col] = cube.layout[i];
      return el("span", { textContent: name, style: `left: ${25 * col}%; top: ${(100 / 3) * row}%` });
    }));
  }

  async function showVideo(index) {
    const video = clip.videos[index];
    const url = await PanoworldView.videoUrl(video.erp);
    if (!sphere) await createSphere(url, clip.input);
    else await sphere.setPanorama({ source: url }, { transition: false, showLoader: false });
    setFovMarker(clip.input);
    flatVideo.src = url;
    $("#flat .label").textContent = clip.videos.length > 1 ? `· ${video.label}` : "";
    $("#depth").hidden = !video.depth;
    if (video.depth) {
      $("#depth video").src = await PanoworldView.videoUrl(video.depth.video);
      showLegend(video.depth.legend);
    }
    $("#cube video").src = await PanoworldView.videoUrl(video.cube.video);
    showCube(video.cube);
    overlay.tracks = video.tracks ? await PanoworldView.load(video.tracks) : null;
    $("#tracks-toggle").hidden = !overlay.tracks;
    document.querySelectorAll("#compare figure").forEach((f, i) => f.classList.toggle("selected", i === index));
    document.querySelectorAll("#video-choice input").forEach((r, i) => { r.checked = i === index; });
  }

  function showInput(input) {
    $("#input").hidden = !input || !input.image;
    overlay.outline = input && input.outline;
    if (!input || !input.image) return;
    $("#input img").src = input.image;
    $("#input figcaption").textContent = input.fov_x === undefined ? "input" :
      `input · fov ${fmt(input.fov_x)} × ${fmt(input.fov_y)} · yaw ${fmt(input.yaw)} · pitch ${fmt(input.pitch)}` +
      ` · roll ${fmt(input.roll)}`;
  }

  function showChoice() {
    const box = $("#video-choice");
    box.hidden = clip.videos.length < 2;
    box.replaceChildren(el("legend", { textContent: "on the sphere" }), ...clip.videos.map((v, i) => el("label", {}, [
      el("input", { type: "radio", name: "video", checked: i === 0, onchange: () => showVideo(i) }), ` ${v.label}`,
    ])));
  }

  async function showCompare() {
    compareVideos = [];
    const many = clip.videos.length > 1;
    $("#compare").hidden = !many && !clip.metrics;
    const cells = [];
    if (many) {
      for (const [i, v] of clip.videos.entries()) {
        const video = el("video", { muted: true, playsInline: true, preload: "auto" });
        video.src = await PanoworldView.videoUrl(v.erp);
        compareVideos.push(video);
        cells.push(el("figure", { onclick: () => showVideo(i) }, [video, el("figcaption", { textContent: v.label })]));
      }
    }
    $("#compare .grid").replaceChildren(...cells);
    const table = $("#metrics");
    table.hidden = !clip.metrics;
    if (!clip.metrics) return;
    $("thead", table).replaceChildren(el("tr", {}, [el("th", { textContent: "metric" }),
      ...clip.metrics.methods.map((m) => el("th", { textContent: m }))]));
    $("tbody", table).replaceChildren(...clip.metrics.rows.map((r) => el("tr", {}, [
      el("th", { textContent: r.metric }), ...r.values.map((v) => el("td", { textContent: v })),
    ])));
  }

  async function showClip(index) {
    document.body.dataset.state = "loading";
    clip = DATA.clips[index];
    $("#caption").textContent = clip.caption || "";
    $("#info").replaceChildren(...Object.entries(clip.info).flatMap(([k, v]) => [
      el("dt", { textContent: k }), el("dd", { textContent: String(v) })]));
    showInput(clip.input);
    showChoice();
    await showCompare();
    await showVideo(0);
    if (clip.input && clip.input.fov_x !== undefined) {
      sphere.rotate({ yaw: rad(clip.input.yaw), pitch: rad(clip.input.pitch) });
    }
    document.body.dataset.state = "ready";
  }

  /** Every flat video follows the sphere's video: same play state, time within a frame or two. */
  function follow(video, t, playing) {
    if (!video.src || video.readyState < 1) return;
    const target = Math.min(t, Math.max(0, video.duration - 0.001));
    if (playing && video.paused) video.play().catch(() => {});
    if (!playing && !video.paused) video.pause();
    if (Math.abs(video.currentTime - target) > (playing ? 0.2 : 0.01)) video.currentTime = target;
  }

  function tick() {
    const plugin = sphere && sphere.getPlugin(VideoPlugin);
    if (plugin && document.body.dataset.state === "ready") {
      const t = plugin.getTime() || 0;
      const playing = plugin.isPlaying();
      followers.concat(compareVideos).forEach((v) => follow(v, t, playing));
      PanoworldOverlay.draw($("#flat canvas"), flatVideo, overlay, t);
    }
    requestAnimationFrame(tick);
  }

  function start() {
    const select = $("#clip");
    select.replaceChildren(...DATA.clips.map((c, i) => el("option", { value: i, textContent: c.title })));
    select.onchange = () => showClip(Number(select.value)).catch(fail);
    select.disabled = DATA.clips.length < 2;
    $("#show-fov").onchange = (e) => { overlay.showFov = e.target.checked; };
    $("#show-tracks").onchange = (e) => { overlay.showTracks = e.target.checked; };
    showClip(0).catch(fail);
    requestAnimationFrame(tick);
  }

  function fail(error) {
    document.body.dataset.state = "error";
    $("#caption").textContent = `could not show this clip: ${error.message || error}`;
    console.error(error);
  }

  start();
})();
