#!/usr/bin/env bash
# Runs on the GPU machine, from the folder bench/deviceCheck/prepare.sh made: what the machine
# offers for Vulkan, then the check (adapters, gradients vs CPU, DCGAN-32 / IC-GAN-32 step times).
set -uo pipefail
cd "$(dirname "$0")"
echo "== machine"
uname -a
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"
echo "glibc: $(ldd --version 2>/dev/null | head -n 1)"
echo "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-<unset>}"
echo "Vulkan ICDs:"
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null || echo "  none in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d"
ldconfig -p | grep -E 'libvulkan|libGLX_nvidia' || echo "  no system libvulkan / libGLX_nvidia"
# The system's loader when there is one, else ours.
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$PWD/lib"
echo "== check"
./node deviceCheck.js "$@"
