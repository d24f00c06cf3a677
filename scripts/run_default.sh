#!/usr/bin/env bash
# README command 1: install the Debian dependencies, build ddo, run the
# built-in default job of the `ddo` driver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_dependencies.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDDO_BUILD_TESTS=OFF
cmake --build build -j2 --target ddo_driver
./build/bin/ddo "$@"
