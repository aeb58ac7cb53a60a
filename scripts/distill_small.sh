#!/usr/bin/env bash
# The small model's 4-step student (issue 22): data and cache as the teacher's recipe (both resumable, so what the
# teacher run made is kept), distillation for a fixed wall-clock budget, then the student exported as a stand-alone
# model folder (every file <= MAX_MB, transformer in bf16). Run it on the GPU:
#
#   bash scripts/distill_small.sh TEACHER EXPORT [--set key=value ...]
#   bash scripts/distill_small.sh src/panoworld/assets/small_model models/panoworld-small-4step
#   MINUTES=3 WORKERS=16 TRAIN_CLIPS=128 bash scripts/distill_small.sh src/panoworld/assets/small_model "$OUT/student"
#
# TEACHER: the trained small model (a model folder such as src/panoworld/assets/small_model, or a training run
# folder = its newest checkpoint). A model folder's own vae/, text_encoder/ and image_encoder/ encode the cache
# (into CACHE, default OUT-cache), so the student sees exactly the teacher's latents; a training run folder reuses
# the preset's cache (the teacher's). EXPORT: the student model folder to write (replaced).
# Then compare teacher and student on a CPU (docs/train.md, "Distillation"):
#   python bench/distill_compare.py --teacher TEACHER --student EXPORT --master data/synth-heldout/master.csv ...
#
# Environment (defaults): MINUTES (20: distillation wall-clock budget), CONFIG (distill-small), OUT (run folder,
# runs/distill-small), CACHE (see TEACHER), MAX_MB (16), DATA (data), SIZE (128x256), FRAMES (33),
# GRID (16), TRAIN_CLIPS (1024), VAL_CLIPS (8), WORKERS (1: render into DATA/synth-train; N > 1: N parallel CPU
# renderers into DATA/synth-train-NN, the sub-splits and seeds of scripts/train_small_model.py), CACHE_WORKERS (1;
# N > 1: N cache processes on the one device, `panoworld train cache --shard i/N`), DEVICE (auto: the GPU when
# present), PYTHON (python). Extra arguments (--set key=value ...) go to both `panoworld train` commands.
set -euo pipefail

if [ $# -lt 2 ] || [ "${1#-}" != "$1" ] || [ "${2#-}" != "$2" ]; then
  echo "usage: bash scripts/distill_small.sh TEACHER EXPORT [--set key=value ...]" >&2
  exit 2
fi
TEACHER=$1
EXPORT=$2
shift 2
MINUTES=${MINUTES:-20}
CONFIG=${CONFIG:-distill-small}
OUT=${OUT:-runs/distill-small}
CACHE=${CACHE:-}
MAX_MB=${MAX_MB:-16}
DATA=${DATA:-data}
SIZE=${SIZE:-128x256}
FRAMES=${FRAMES:-33}
GRID=${GRID:-16}
TRAIN_CLIPS=${TRAIN_CLIPS:-1024}
VAL_CLIPS=${VAL_CLIPS:-8}
WORKERS=${WORKERS:-1}
CACHE_WORKERS=${CACHE_WORKERS:-1}
DEVICE=${DEVICE:-auto}
PYTHON=${PYTHON:-python}

if [ ! -e "$TEACHER" ]; then
  echo "error: teacher $TEACHER does not exist (a model folder or a training run folder)" >&2
  exit 2
fi
if [ "$DEVICE" = auto ]; then
  RENDER=$("$PYTHON" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
else
  RENDER=$DEVICE
fi
pw() { "$PYTHON" -m panoworld "$@"; }
SYNTH=(--frames "$FRAMES" --size "$SIZE" --ann-frames 0 --grid "$GRID")

echo "== 1/4 data (the teacher's synth splits; finished clips are kept)"
if [ "$WORKERS" -le 1 ]; then
  pw synth --out "$DATA/synth-train" --clips "$TRAIN_CLIPS" --seed 1000000 --split-name synthtrain \
    --device "$RENDER" "${SYNTH[@]}"
  TRAIN="{path='$DATA/synth-train'}"
else
  mkdir -p "$DATA"
  PER=$(( (TRAIN_CLIPS + WORKERS - 1) / WORKERS ))
  PIDS=()
  TRAIN=""
  for ((i = 0; i < WORKERS && i * PER < TRAIN_CLIPS; i++)); do
    NN=$(printf "%02d" "$i")
    COUNT=$(( TRAIN_CLIPS - i * PER < PER ? TRAIN_CLIPS - i * PER : PER ))
    pw synth --out "$DATA/synth-train-$NN" --clips "$COUNT" --seed $(( 1000000 + 10000 * i )) \
      --split-name "synthtrain$NN" --device cpu --threads 1 "${SYNTH[@]}" > "$DATA/synth-train-$NN.log" 2>&1 &
    PIDS+=($!)
    TRAIN="$TRAIN${TRAIN:+, }{path='$DATA/synth-train-$NN'}"
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" || { echo "error: a synth worker failed (logs: $DATA/synth-train-*.log)" >&2; exit 1; }
  done
fi
pw synth --out "$DATA/synth-val" --clips "$VAL_CLIPS" --seed 2000000 --split-name synthval --device "$RENDER" \
  "${SYNTH[@]}"

SETS=(--set "model.init=$TEACHER" --set "run.out_dir=$OUT" --set "data.train=[$TRAIN]"
      --set "data.val=[{path='$DATA/synth-val'}]")
if [ -f "$TEACHER/model_index.json" ]; then  # a model folder: its own frozen components, its own cache
  for slot in vae text_encoder image_encoder; do
    if [ -f "$TEACHER/$slot/config.json" ]; then
      SETS+=(--set "components.$slot=$TEACHER/$slot")
    fi
  done
  CACHE=${CACHE:-$OUT-cache}
fi
if [ -n "$CACHE" ]; then
  SETS+=(--set "data.cache_dir=$CACHE")
fi

echo "== 2/4 cache (the teacher's; cached clips are skipped)"
if [ "$CACHE_WORKERS" -gt 1 ]; then
  THREADS=$(( $(nproc) / CACHE_WORKERS > 0 ? $(nproc) / CACHE_WORKERS : 1 ))
  PIDS=()
  for ((i = 0; i < CACHE_WORKERS; i++)); do
    OMP_NUM_THREADS=$THREADS pw train cache --config "$CONFIG" --device "$DEVICE" --shard "$i/$CACHE_WORKERS" \
      "${SETS[@]}" "$@" > "$DATA/cache-$i.log" 2>&1 &
    PIDS+=($!)
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" || { echo "error: a cache worker failed (logs: $DATA/cache-*.log)" >&2; exit 1; }
  done
fi
pw train cache --config "$CONFIG" --device "$DEVICE" "${SETS[@]}" "$@"

echo "== 3/4 distillation for $MINUTES minutes (resumes $OUT)"
pw train distill --config "$CONFIG" --max-minutes "$MINUTES" "${SETS[@]}" "$@"

echo "== 4/4 export -> $EXPORT"
"$PYTHON" -m panoworld.train.distill_export "$OUT" "$EXPORT" --max-mb "$MAX_MB"
