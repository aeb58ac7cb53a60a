"""The options of ``panoworld generate`` (declared here to keep the command module short).

Options whose default comes from the model (steps, guidance, resolution, frames, fps, latent padding) default to
None: a PanoWorld model folder's ``model_index.json`` decides them, the released weights use the reference's.
"""

from __future__ import annotations

import typer

from ._options import output_dir

IMAGE = typer.Argument(None, help="Input perspective photo (.png/.jpg/...); omit with --batch.", exists=True,
                       dir_okay=False)
PROMPT = typer.Option(None, "--prompt", "-p", help="Perspective prompt (what the photo shows; drives base-i2v "
                      "motion and is the 360 prompt when --pano-prompt is absent).")
PANO_PROMPT = typer.Option(None, "--pano-prompt", help="360-degree prompt for the panoramic rounds (describe the "
                           "surroundings, not the subject); either prompt alone is enough.")
PROMPT_FILE = typer.Option(None, "--prompt-file", exists=True, dir_okay=False, help="Prompt file: .txt (the "
                           "prompt) or .json with \"prompt\" and optional \"pano_prompt\".")
NEGATIVE = typer.Option(None, "--negative-prompt", help="Unconditional-branch text (default: the "
                        "Cosmos-Predict2.5 negative prompt).")
OUT = typer.Option(None, "--out", "-o", callback=output_dir, help="Output folder (default outputs/<image stem>; "
                   "with --batch, the root of one sub-folder per row, plus batch_summary.json).")
BATCH = typer.Option(None, "--batch", exists=True, dir_okay=False, help="CSV or JSONL table of jobs (columns image, "
                     "prompt or prompt_file, optional pano_prompt, id, seed, yaw, pitch, roll, fov). Every row is "
                     "checked before the first runs; finished rows are skipped, so re-running resumes.")
FORCE = typer.Option(False, "--force", help="Redo clips already finished (needed when their settings changed).")
MODEL = typer.Option(None, "--model", help="PanoWorld model folder (model_index.json), weights root laid out as "
                     "`panoworld weights` shows, 'small' (the small model shipped with the package) or "
                     "'small-4step' (its 4-step student) [default: "
                     "$PANOWORLD_WEIGHTS, else ./weights; the small model when neither holds PanoWorld weights].",
                     show_default=False)
RESOLUTION = typer.Option(None, "--resolution", help="ERP output size HEIGHTxWIDTH in pixels (width = 2 x height, "
                          "multiples of 16) [default: the model's, 512x1024].", show_default=False)
FRAMES = typer.Option(None, "--frames", help="Output frames, 4k+1 (93 = 5.8 s at 16 fps, 33 = 2 s) [default: the "
                      "model's, 93].", show_default=False)
FPS = typer.Option(None, "--fps", help="Frame rate of the written videos, frames per second [default: the "
                   "model's, 16].", show_default=False)
GUIDANCE = typer.Option(None, "--guidance", help="CFG weight g >= 0 in v_c + g (v_c - v_u) (unitless) [default: "
                        "the model's sampler's, 7; 0 for a few-step student, which allows only 0].",
                        show_default=False)
STEPS = typer.Option(None, "--steps", help="Sampling steps as in the reference (35 -> 36 network evaluations per "
                     "round); a few-step student runs exactly the steps it was distilled for (4 -> 4 evaluations) "
                     "[default: the model's sampler's, 35].", show_default=False)
SAMPLER = typer.Option(None, "--sampler", help="unipc-karras (many-step, CFG) or few-step (a distilled student: "
                       "its flow times, no CFG); must be the one the model was made for [default: the model's].",
                       show_default=False)
SEED = typer.Option(0, "--seed", help="Random seed (initial noise, reference fill, rotations).")
FOV = typer.Option(90.0, "--fov", help="Horizontal field of view of the cropped perspective input, degrees, in "
                   "(0, 180).")
YAW = typer.Option(0.0, "--yaw", help="Where the photo sits: yaw in degrees, positive turns right.")
PITCH = typer.Option(0.0, "--pitch", help="Pitch in degrees, positive looks up.")
ROLL = typer.Option(0.0, "--roll", help="Roll in degrees, positive turns the camera clockwise.")
PERSP = typer.Option("480x640", "--persp-resolution", help="Perspective resolution HEIGHTxWIDTH in pixels; the "
                     "photo is scaled to cover it and centre-cropped.")
ROPE = typer.Option(None, "--rope", help="RoPE variant of the PanoWorld net: equirect (the released checkpoint), "
                    "linear or periodic [default: as stored in the checkpoint].", show_default=False)
CHAINED = typer.Option(False, "--chained/--single", help="Two rounds (Round 2 conditioned on Round-1 frame 0, the "
                       "paper's evaluated path) or one FOV-locked round.")
MOTION = typer.Option("static", "--motion", help="Perspective motion source: static (the photo repeated) or "
                      "base-i2v (animated by the base Cosmos-Predict2.5 model first).")
SIGLIP_VIEW = typer.Option("reference", "--siglip-orientation", help="What SigLIP sees: reference (vertically "
                           "flipped, as the checkpoint was trained) or upright.")
LATENT_PAD = typer.Option(None, "--latent-padding", help="Circular latent columns per side before VAE decode (8 px "
                          "each; 0 = off) [default: the model's, 2].", show_default=False)
ROTATED = typer.Option(False, "--rotated-denoise", help="Roll latent, solver history and conditioning by random "
                       "columns after every step.")
LAT_NOISE = typer.Option(False, "--latitude-noise", help="Latitude-aware initial noise (stretched towards the "
                         "poles like ERP content).")
CFG_BATCH = typer.Option("auto", "--cfg-batch", help="CFG branches: batched (one forward of batch 2), sequential "
                         "(two forwards, less memory) or auto (batched when memory allows); identical results.")
ROUND2_REF = typer.Option("reencode", "--round2-reference", help="Round-2 reference latent: reencode (VAE of the "
                          "Round-1 video, as the reference) or latent (reuse).")
BF16_T = typer.Option(False, "--bf16-timesteps", help="Round the network timestep to bf16 as the reference's "
                      "patched forward does (995 -> 996); default exact.")
FAST = typer.Option(None, "--fast", help="Opt-in approximate speed-ups, a comma list (or all): cache (reuse the "
                    "later transformer blocks' residual on evaluations whose first block barely changed) and fp8 "
                    "(FP8 matmuls in the blocks; CUDA compute capability >= 8.9, emulated and slow on the CPU). The "
                    "quality cost is measured in docs/benchmarks.md; recorded in run.json.", show_default=False)
CACHE_THRESHOLD = typer.Option(None, "--cache-threshold", help="With --fast cache: relative change of the first "
                               "block's output below which an evaluation is reused (unitless, in [0, 1); higher = "
                               "faster, less exact) [default: 0.08].", show_default=False)
OFFLOAD = typer.Option("none", "--offload", help="none (fastest), model (components on the GPU only while used) "
                       "or group (also stream the transformer block by block).")
ATTENTION = typer.Option("auto", "--attention", help="Preferred attention kernel while sampling (CUDA): auto "
                         "(cudnn on Hopper and newer GPUs, else PyTorch's order), cudnn, flash or efficient.")
DEVICE = typer.Option(None, "--device", help="Torch device (default cuda if available, else cpu).")
DTYPE = typer.Option("auto", "--dtype", help="Weights/compute dtype: auto (bf16 on CUDA, fp32 on CPU), bf16, fp16 "
                     "or fp32.")
COMPILE = typer.Option(False, "--compile", help="torch.compile every transformer block (the first step compiles, "
                       "about 21 s per block graph on an H200; later steps take 0.8x the time).")
CHECKPOINT = typer.Option(None, "--checkpoint", help="Override: PanoWorld transformer folder or model_ema_bf16.pt "
                          "(default: the model's; $PANOWORLD_WEIGHTS/panoworld).")
BASE_MODEL = typer.Option(None, "--base-model", help="Override: base Cosmos-Predict2.5-2B transformer for --motion "
                          "base-i2v (default $PANOWORLD_WEIGHTS/cosmos-predict2.5-2b).")
TEXT_ENCODER = typer.Option(None, "--text-encoder", help="Override: Cosmos-Reason1-7B folder or hub id (default: "
                            "the model's; $PANOWORLD_WEIGHTS/cosmos-reason1-7b).")
SIGLIP = typer.Option(None, "--siglip", help="Override: SigLIP2 so400m-patch14-384 folder or hub id (default: the "
                      "model's; $PANOWORLD_WEIGHTS/siglip2-so400m-patch14-384).")
VAE = typer.Option(None, "--vae", help="Override: Wan2.1 VAE folder, file or hub id (default: the model's; "
                   "$PANOWORLD_WEIGHTS/wan2.1-vae).")
TEXT_CACHE = typer.Option(None, "--text-cache", file_okay=False, help="Folder caching prompt embeddings on disk "
                          "(skips the 7B text encoder for repeated prompts).")
TINY = typer.Option(False, "--tiny-random", help="Use tiny randomly initialised models (no weights; output is "
                    "noise): a smoke test of the whole pipeline.")
ROUNDS = typer.Option(None, "--rounds", min=1, help="Rounds of the video: 1 = one clip; each further round "
                      "continues the last one (its last --extend-frames latent frames, cross-faded) [default: 1].",
                      show_default=False)
SECONDS = typer.Option(None, "--seconds", help="Video length in seconds: the fewest rounds that reach it, cut to "
                       "round(seconds x fps) frames (instead of --rounds).", show_default=False)
EXTEND_PROMPT = typer.Option(None, "--extend-prompt", help="360-degree prompt of extension round 2, 3, ...; repeat "
                             "the flag once per round in order (the last one is reused for later rounds) [default: "
                             "the 360-degree prompt].", show_default=False)
EXTEND_FRAMES = typer.Option(None, "--extend-frames", help="Latent frames an extension round continues from (K; "
                             "4K - 3 video frames are cross-faded) [default: the model's, 1].", show_default=False)
EXTEND_REF = typer.Option("aligned", "--extend-reference", help="Reference latent of an extension round: aligned "
                          "(the previous round from its last K latent frames on, last frame held) or previous "
                          "(the previous round as it is).")
CONTEXT_PARALLEL = typer.Option(None, "--context-parallel", help="Under torchrun: split every clip's video tokens "
                                "across the processes (of each CFG branch), self-attention by ulysses (all-to-all "
                                "over heads; heads divisible by the process count) or ring (any head count). "
                                "Latent frames ((frames - 1) / 4 + 1) must divide evenly. Without it and "
                                "--cfg-parallel, torchrun shares the clips of a --batch out instead. docs/multigpu.md.",
                                show_default=False)
CFG_PARALLEL = typer.Option(False, "--cfg-parallel", help="Under torchrun: conditional and unconditional CFG branch "
                            "on different halves of the processes (an even count); combines with "
                            "--context-parallel when there are more than 2.")
ANNOTATE = typer.Option("none", "--annotate", help="Annotate each generated video with panoworld.annotate's "
                        "networks (as `panoworld eval` does), a comma list: depth (DAP, depth_dap.npz: depth in "
                        "metres), tracks (CoTracker3, tracks.npz: pixels, visibility), or none. Their weights are "
                        "checked before any generation (`panoworld weights`); --tiny-random uses tiny random ones.")
ANNOTATE_FRAMES = typer.Option(20, "--annotate-frames", min=2, help="With --annotate: frames annotated per clip, "
                               "evenly spaced in time (as `panoworld annotate --frames`).")
ANNOTATE_GRID = typer.Option(30, "--annotate-grid", min=1, help="With --annotate tracks: a GRIDxGRID grid of "
                             "frame-0 query points (as `panoworld annotate --grid`).")
DAP_WEIGHTS = typer.Option(None, "--dap-weights", exists=True, dir_okay=False, help="With --annotate depth: DAP "
                           "model.pth [default: $PANOWORLD_WEIGHTS/dap/model.pth].", show_default=False)
COTRACKER_WEIGHTS = typer.Option(None, "--cotracker-weights", exists=True, dir_okay=False, help="With --annotate "
                                 "tracks: CoTracker3 scaled_offline.pth [default: "
                                 "$PANOWORLD_WEIGHTS/cotracker3/scaled_offline.pth].", show_default=False)
