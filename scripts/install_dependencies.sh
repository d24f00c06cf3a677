#!/usr/bin/env bash
# Installs every Debian package ddo needs (Debian 12 "bookworm").
# Runs as root, or through sudo when available. Idempotent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libdeal.ii-dev          # deal.II 9.4 with Trilinos, p4est, MPI, HDF5, ARPACK, SLEPc, SUNDIALS, UMFPACK
  libtorch-dev            # LibTorch 1.13
  libgtest-dev
  numdiff
  gmsh
  openmpi-bin
  gnuplot-nox             # PNG/SVG figures of examples and benchmarks
  libopenblas0-pthread    # optimized BLAS/LAPACK behind libblas.so.3 (update-alternatives):
                          # CHOLMOD's supernodal factorization and block solves and torch's
                          # GEMMs are 5-10x faster than with Debian's reference BLAS.
                          # Threads: OPENBLAS_NUM_THREADS (default: all cores); in torch
                          # programs set it to 1, torch's intra-op threads fill the cores.
)

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install_dependencies.sh: need root or sudo to install Debian packages" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "-- installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "-- all Debian dependencies are installed"
fi
