#!/usr/bin/env bash
# The small model's 4-step student (issue 22): data and cache exactly as the teacher's recipe (both resumable, so
# what the teacher run made is kept), distillation for a fixed wall-clock budget, then the student exported as a
# stand-alone model folder (transformer weights <= 16 MB, bf16). Run it on the GPU right after the teacher:
#
#   bash scripts/distill_small.sh                          # 20 minutes; teacher runs/tiny-synth
#   MINUTES=40 bash scripts/distill_small.sh --set optim.lr=1e-5
#
# Then compare teacher and student on a CPU (docs/train.md, "Distillation"):
#   python bench/distill_compare.py --teacher runs/tiny-synth --student models/panoworld-small-4step ...
#
# Environment (defaults): MINUTES (20), CONFIG (distill-small), TEACHER (runs/tiny-synth: a training run folder or a
# model folder), OUT (runs/distill-small), EXPORT (models/panoworld-small-4step), MAX_MB (16), DATA (data),
# SIZE (128x256), FRAMES (33), GRID (16), TRAIN_CLIPS (1024), VAL_CLIPS (8), DEVICE (auto: the GPU when present),
# PYTHON (python). Extra arguments (--set key=value ...) go to both `panoworld train` commands.
set -euo pipefail

MINUTES=${MINUTES:-20}
CONFIG=${CONFIG:-distill-small}
TEACHER=${TEACHER:-runs/tiny-synth}
OUT=${OUT:-runs/distill-small}
EXPORT=${EXPORT:-models/panoworld-small-4step}
MAX_MB=${MAX_MB:-16}
DATA=${DATA:-data}
SIZE=${SIZE:-128x256}
FRAMES=${FRAMES:-33}
GRID=${GRID:-16}
TRAIN_CLIPS=${TRAIN_CLIPS:-1024}
VAL_CLIPS=${VAL_CLIPS:-8}
DEVICE=${DEVICE:-auto}
PYTHON=${PYTHON:-python}

if [ "$DEVICE" = auto ]; then
  RENDER=$("$PYTHON" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
else
  RENDER=$DEVICE
fi
pw() { "$PYTHON" -m panoworld "$@"; }
SETS=(--set "model.init=$TEACHER" --set "run.out_dir=$OUT" --set "data.train=[{path='$DATA/synth-train'}]"
      --set "data.val=[{path='$DATA/synth-val'}]")

echo "== 1/4 data (the teacher's synth splits; finished clips are kept)"
pw synth --out "$DATA/synth-train" --clips "$TRAIN_CLIPS" --frames "$FRAMES" --size "$SIZE" --seed 1000000 \
  --ann-frames 0 --grid "$GRID" --split-name synthtrain --device "$RENDER"
pw synth --out "$DATA/synth-val" --clips "$VAL_CLIPS" --frames "$FRAMES" --size "$SIZE" --seed 2000000 \
  --ann-frames 0 --grid "$GRID" --split-name synthval --device "$RENDER"

echo "== 2/4 cache (the teacher's; cached clips are skipped)"
pw train cache --config "$CONFIG" --device "$DEVICE" "${SETS[@]}" "$@"

echo "== 3/4 distillation for $MINUTES minutes (resumes $OUT)"
pw train distill --config "$CONFIG" --max-minutes "$MINUTES" "${SETS[@]}" "$@"

echo "== 4/4 export -> $EXPORT"
"$PYTHON" -m panoworld.train.distill_export "$OUT" "$EXPORT" --max-mb "$MAX_MB"
