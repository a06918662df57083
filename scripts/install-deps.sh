#!/usr/bin/env bash
# Installs the Debian 12 packages TransportLab needs to build, run, test and benchmark.
# Idempotent: only missing packages are installed. Uses sudo when not root.
set -euo pipefail

PKGS=(
  build-essential cmake pkgconf ninja-build ccache
  qt6-base-dev libqt6opengl6-dev libgl-dev qt6-qpa-plugins
  libvtk9-dev libeigen3-dev libhwy-dev liblemon-dev nlohmann-json3-dev libfftw3-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev ffmpeg
  xvfb xauth x11-utils libxcb1-dev xdotool
  clang libclang-rt-14-dev llvm
  python3 python3-numpy python3-pot python3-vtk9
  parallel slurm-wlm munge
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
