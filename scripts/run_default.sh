#!/usr/bin/env bash
# README command 1: install the Debian dependencies, build ddo, run the main
# job: the shipped Navier-Stokes model sampled on its unstructured mesh and,
# zero-shot, on a refined one, with metrics against the test set
# (scripts/navier_stokes_demo.sh). With arguments, runs `ddo ARGS` instead
# (e.g. `scripts/run_default.sh info file.prm`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_dependencies.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDDO_BUILD_TESTS=OFF
cmake --build build -j2 --target ddo_driver
if [ $# -gt 0 ]; then
  exec ./build/bin/ddo "$@"
fi
exec bash scripts/navier_stokes_demo.sh "$PWD/build/bin/ddo"
