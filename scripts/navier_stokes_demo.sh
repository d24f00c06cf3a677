#!/usr/bin/env bash
# The main job: sample the shipped Navier-Stokes model (examples/navier_stokes)
# on its unstructured training mesh and, zero-shot, on the refined mesh h/2;
# judge both against the shipped test set; print the metrics and write VTU
# and PNG files into build/navier_stokes_demo/output.
# Usage: scripts/navier_stokes_demo.sh [path/to/ddo]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ddo="${1:-$root/build/bin/ddo}"
example="$root/examples/navier_stokes"
work="$root/build/navier_stokes_demo"
mkdir -p "$work"
cd "$work"
# The prm files name the model and the test set relative to the working directory.
ln -sfn "$example/model" model
ln -sfn "$example/data" data
start=$(date +%s)
for mesh in "" _h2; do
  prm="$example/navier_stokes$mesh.prm"
  echo "=== ddo sample $prm"
  "$ddo" sample "$prm"
  echo "=== ddo metrics $prm"
  "$ddo" metrics "$prm"
done
end=$(date +%s)
echo
echo "Navier-Stokes demo done in $((end - start)) s. Results in $work/output:"
echo "  samples*.vtu (fields), metrics*/metrics.md (tables), metrics*/*.png (density, spectrum,"
echo "  correlation, sample fields next to test fields), metrics*/mean_and_variance.vtu"
