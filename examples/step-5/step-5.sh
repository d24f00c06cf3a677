#!/usr/bin/env bash
# examples/step-5: a DDO in 3D on a tetrahedral mesh of a mounting bracket.
#
#   bash examples/step-5/step-5.sh [working directory] [number of seeds]
#
# In the working directory (default ./step-5-run): Darcy data on the training
# mesh and, as the solver's own reference for the finer scales, on its
# refinement; the shipped model, or training; sampling with six seeds
# on the training mesh, and zero-shot on the refined mesh and on another mesh;
# metrics for each against the test-vs-test floor and a Gaussian baseline; a
# summary table (summary.md). Set DDO to the driver (default: ddo on PATH,
# else build/bin/ddo of this checkout), TRAIN=1 to train instead of using the
# shipped model (examples/step-5/model).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-step-5-run}"
n_seeds="${2:-6}"
if [ -z "${DDO:-}" ]; then
  if command -v ddo > /dev/null 2>&1; then DDO=ddo; else DDO="$here/../../build/bin/ddo"; fi
fi
mkdir -p "$work"
cd "$work"
cp "$here"/*.prm "$here"/*.msh .
start=$(date +%s)
stage() { echo "== $1 ($(($(date +%s) - start)) s)"; }

# A copy of a parameter file with lines added at the start of a subsection
# and a string replaced: variant FILE SUBSECTION "LINES" [FROM TO]...
variant() {
  local file=$1 section=$2 lines=$3
  shift 3
  local text
  text=$(sed "s|^subsection $section\$|subsection $section\n$lines|" "$file")
  while [ $# -ge 2 ]; do
    text=${text//"$1"/"$2"}
    shift 2
  done
  printf '%s\n' "$text"
}

stage "data on the training mesh"
"$DDO" generate step-5.prm

stage "solver data on the refined mesh"
variant step-5.prm Mesh "  set Global refinements = 1" \
  "set Number of samples = 2000" "set Number of samples = 200" \
  "data/train.h5" "data/refined_test.h5" \
  "set Test output file = data/test.h5" "set Test output file =" > refined_data.prm
"$DDO" generate refined_data.prm

# The shipped model, unless TRAIN=1 or the directory has a model already.
if [ "${TRAIN:-0}" != 1 ] && [ ! -f model/weights.pt ] && [ -f "$here/model/weights.pt" ]; then
  mkdir -p model
  cp "$here"/model/* model/
fi
if [ ! -f model/weights.pt ] || [ "${TRAIN:-0}" = 1 ]; then
  stage "training"
  "$DDO" train step-5.prm
fi

for seed in $(seq 1 "$n_seeds"); do
  stage "sampling and metrics on the training mesh, seed $seed"
  variant step-5.prm Sampling "  set Seed = $seed" \
    "output/samples" "output/samples_$seed" "output/metrics" "output/metrics_$seed" > seed_$seed.prm
  "$DDO" sample seed_$seed.prm
  "$DDO" metrics seed_$seed.prm
done

stage "zero-shot: refined mesh"
"$DDO" sample step-5_refined.prm
"$DDO" metrics step-5_refined.prm
variant step-5_refined.prm Metrics "" "data/test.h5" "data/refined_test.h5" \
  "output/metrics_refined" "output/metrics_refined_solver" > refined_solver.prm
"$DDO" metrics refined_solver.prm

stage "zero-shot: another mesh"
"$DDO" sample step-5_other.prm
"$DDO" metrics step-5_other.prm

# One row per metrics directory: the model's density, |grad u| density and
# spectrum over the floor's, the Gaussian baseline's density over the
# model's, and the range of the model's band energies over the reference's.
row() {
  awk -F' = ' -v name="$1" '
    /^floor__/ { split($1, k, "."); floor[k[2]] = $2; next }
    /^Gaussian_baseline\./ { split($1, k, "."); gauss[k[2]] = $2; next }
    /^reference\./ { next }
    /\.density_mse|\.gradient_density_mse|\.spectrum_mse|\.band_ratio_/ {
      split($1, k, "."); model[k[2]] = $2
      if (k[2] ~ /^band_ratio_/) {
        if (lo == "" || $2 < lo) lo = $2
        if (hi == "" || $2 > hi) hi = $2
      }
    }
    END {
      printf "| %s | %.2f | %.2f | %.2f | %.1f | %.2f-%.2f |\n", name,
        model["density_mse"] / floor["density_mse"],
        model["gradient_density_mse"] / floor["gradient_density_mse"],
        model["spectrum_mse"] / floor["spectrum_mse"],
        gauss["density_mse"] / model["density_mse"], lo, hi
    }' "$2"
}
{
  echo "| run | density / floor | \|grad u\| density / floor | band spectrum / floor | Gaussian baseline density / model's | band energy / reference (min-max) |"
  echo "|---|---|---|---|---|---|"
  for seed in $(seq 1 "$n_seeds"); do
    row "training mesh, seed $seed" output/metrics_$seed/metrics.txt
  done
  row "refined mesh (zero-shot), against the test set" output/metrics_refined/metrics.txt
  row "refined mesh (zero-shot), against solver data on it" output/metrics_refined_solver/metrics.txt
  row "another mesh (zero-shot)" output/metrics_other/metrics.txt
} > summary.md
cat summary.md
echo "step-5: done in $(($(date +%s) - start)) s; results in $(pwd)"
