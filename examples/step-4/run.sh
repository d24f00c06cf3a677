#!/usr/bin/env bash
# step-4 in one command: the Darcy inverse problem on the perforated plate
# with the shipped DDO prior (model/) and with the Gaussian prior on log a,
# over the same truths, observations, sampler and guidance; then the forward
# propagation of the prior (outflow distribution against the data's).
#   bash examples/step-4/run.sh            (after the build; ddo from build/bin)
#   DDO=/path/to/ddo bash examples/step-4/run.sh
# Output: output/posterior/ and output/posterior_gaussian/ (posterior.txt,
# truth_*.vtu) and output/propagation/ (propagation.txt, quantity.png)
# beside this script. Retraining the prior is separate:
#   ddo train step-4.prm   (about 20 minutes on 2 cores; see training.log)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ddo="${DDO:-$here/../../build/bin/ddo}"
[ -x "$ddo" ] || { echo "step-4: no ddo executable at $ddo (build first, or set DDO)" >&2; exit 1; }
cd "$here"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" OPENBLAS_NUM_THREADS=1
start=$(date +%s)
# The truths: the test set of the generator (the same seed as the training data).
[ -f data/test.h5 ] || "$ddo" generate step-4.prm
generated=$(date +%s)
"$ddo" posterior step-4.prm
ddo_done=$(date +%s)
"$ddo" posterior step-4-gaussian.prm
gaussian_done=$(date +%s)
# Forward uncertainty propagation: 200 prior samples through the Darcy problem.
"$ddo" sample step-4-propagate.prm
"$ddo" propagate step-4-propagate.prm
end=$(date +%s)
echo
echo "step-4: DDO prior"; grep -E '^ *(truth|mean)' output/posterior/posterior.txt | sed -n '1p;$p'
echo "step-4: Gaussian prior on log a"; grep -E '^ *(truth|mean)' output/posterior_gaussian/posterior.txt | sed -n '1p;$p'
echo "step-4: outflow through the right side, prior samples against the test data"
grep -E '^(set|floor|samples|Gaussian)' output/propagation/propagation.txt
echo "step-4 timing: truths $((generated - start)) s, DDO posterior $((ddo_done - generated)) s," \
     "Gaussian posterior $((gaussian_done - ddo_done)) s, propagation $((end - gaussian_done)) s, total $((end - start)) s"
