#!/usr/bin/env bash
# README command 2: build ddo with its tests and run the whole suite with CTest.
# Installs missing Debian dependencies first (a no-op when they are present).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_dependencies.sh
start=$(date +%s)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDDO_BUILD_TESTS=ON
cmake --build build -j2
built=$(date +%s)
cd build
status=0
ctest -j2 --output-on-failure --timeout 900 || status=$?
end=$(date +%s)
echo "ddo tests: build $((built - start)) s, tests $((end - built)) s"
exit $status
