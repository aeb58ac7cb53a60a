#!/usr/bin/env bash
# Issue 21's GPU measurements in one command, about 10 minutes on one H100 / H200 (run from the repository root):
#
#   bash bench/gpu_speed.sh OUT_DIR [MODEL_FOLDER]
#
# 1. bench/generate.py, full size, random weights, --compile: ceilings and floors, the VAE (diffusers vs runner),
#    one guided evaluation (eager / compiled, bf16 / FP8, reused), the FP8 output error, a real 35-step exact
#    single round, the fast rounds (cache+fp8, then fp8 and cache alone as the budget allows) and offload
#    none / group, fitted into a wall-clock budget (rounds that do not fit run fewer steps, labelled as
#    extrapolated) -> OUT_DIR/generate.json, generate.md, generate.log (JSON lines + the like-for-like ratios).
# 2. If MODEL_FOLDER (default: the packaged small model, src/panoworld/assets/small_model) has a model_index.json:
#    bench/fast_quality.py (cache and cache+fp8 at thresholds 0.08 and 0.12, 35 steps like the full model: the
#    reuse count depends on the step count) on up to 12 held-out synthetic worlds within the time left (the table
#    says how many ran) -> fast_quality.json / .md.
# 3. On CUDA, if time is left: bench/vae_precision.py (the bf16 VAE paths against fp32) -> vae_precision.json / .md.
# 4. If pytest is importable and time is left: the GPU-marked tests of the fast switches -> gpu_tests.txt.
#
# Every step has a hard time limit; a step that is cut keeps what it saved (the JSON files are written after every
# case / input) and the Markdown is rendered from it. TOTAL_S (default 600) is the whole script's budget.
# A dry run of the same steps on the CPU at tiny sizes: DEVICE=cpu BENCH_EXTRA="--small --steps 1" FQ_STEPS=2.
set -u
out=${1:?usage: bash bench/gpu_speed.sh OUT_DIR [MODEL_FOLDER]}
model=${2:-src/panoworld/assets/small_model}
total=${TOTAL_S:-600}
device=${DEVICE:-cuda}
compile=""
[ "$device" = cuda ] && compile="--compile"
mkdir -p "$out"
start=$SECONDS
left() { echo $((total - (SECONDS - start))); }

have_model=0
[ -f "$model/model_index.json" ] && have_model=1
# generate.py's own budget (it plans its rounds in it) and a hard limit a little above it
gen_budget=$((total - 50 - 100 * have_model))
# shellcheck disable=SC2086  # $compile and $BENCH_EXTRA are word lists
timeout -k 10 $((gen_budget + 30)) python bench/generate.py --device "$device" $compile --budget-s "$gen_budget" \
    ${BENCH_EXTRA:-} --repeats 1 --reserve-s 0 --cases ceilings,vae,steps,fp8_error,single,fast,offload \
    --fast-modes cache+fp8,fp8,cache --offload-modes none,group --offload-steps 2 \
    --out-json "$out/generate.json" > "$out/generate.log" 2>&1
echo "generate.py: exit $? after $((SECONDS - start)) s" | tee -a "$out/generate.log"
python bench/generate.py --from-json "$out/generate.json" --out-md "$out/generate.md" \
    && grep "like for like" "$out/generate.log"

if [ "$have_model" = 1 ] && [ "$(left)" -gt 60 ]; then
    q_budget=$(($(left) - 40))
    timeout -k 10 $((q_budget + 30)) python bench/fast_quality.py --model "$model" --device "$device" --inputs 12 \
        --steps "${FQ_STEPS:-35}" --fast cache,cache+fp8 --thresholds 0.08,0.12 --budget-s "$q_budget" \
        --bench-json "$out/generate.json" --out-json "$out/fast_quality.json" > "$out/fast_quality.log" 2>&1
    echo "fast_quality.py: exit $? after $((SECONDS - start)) s" | tee -a "$out/fast_quality.log"
    [ -f "$out/fast_quality.json" ] && python bench/fast_quality.py --from-json "$out/fast_quality.json" \
        --bench-json "$out/generate.json" --out-md "$out/fast_quality.md" > /dev/null
else
    echo "fast_quality.py: skipped (no model_index.json in $model, or no time left)" | tee "$out/fast_quality.log"
fi

if [ "$device" = cuda ] && [ "$(left)" -gt 100 ]; then
    timeout -k 5 80 python bench/vae_precision.py --device cuda --out-json "$out/vae_precision.json" \
        --out-md "$out/vae_precision.md" > "$out/vae_precision.log" 2>&1
    echo "vae_precision.py: exit $? after $((SECONDS - start)) s" | tee -a "$out/vae_precision.log"
fi

if python -c "import pytest" 2> /dev/null && [ "$(left)" -gt 40 ]; then
    timeout -k 5 $(($(left) - 5)) python -m pytest -q -p no:cacheprovider -m gpu tests/gpu tests/models/test_fp8.py \
        tests/pipelines/test_fast_cache.py tests/pipelines/test_fast_vae.py > "$out/gpu_tests.txt" 2>&1
    echo "GPU tests: exit $? after $((SECONDS - start)) s" | tee -a "$out/gpu_tests.txt"
else
    echo "GPU tests: skipped (no pytest, or no time left)" | tee "$out/gpu_tests.txt"
fi
echo "done in $((SECONDS - start)) s; results in $out"
