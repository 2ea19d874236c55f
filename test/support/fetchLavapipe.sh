#!/usr/bin/env bash
# A software Vulkan GPU for the webgpu tests, without touching the system: Mesa 25's lavapipe
# from Debian bookworm-backports (Dawn rejects bookworm's own Mesa 22) and the Vulkan loader,
# fetched with apt-get download into a private apt state and unpacked with dpkg-deb -x.
# Usage: test/support/fetchLavapipe.sh [DIR]   (default .cache/lavapipe; does nothing if present)
# Then VK_ICD_FILENAMES=DIR/lvp_icd.json and LD_LIBRARY_PATH=DIR/lib (test/support/softwareGpu.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR="$(realpath -m "${1:-.cache/lavapipe}")"
if [ -f "$DIR/lvp_icd.json" ]; then echo "lavapipe: $DIR (cached)"; exit 0; fi
MESA=25.0.7-2~bpo12+1
APT="$DIR/apt"
mkdir -p "$APT/lists/partial" "$APT/cache" "$APT/debs" "$DIR/root"
cat >"$APT/sources.list" <<SOURCES
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-backports main
SOURCES
O=(-o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
apt-get "${O[@]}" update -qq
# lavapipe needs libdrm >= 2.4.121 (backports); its other libraries come from the system when
# installed, else from bookworm.
want=("mesa-vulkan-drivers=$MESA" libvulkan1 libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports)
for dep in libelf1 libexpat1 libllvm15 libwayland-client0 libx11-xcb1 libxcb-dri3-0 \
  libxcb-present0 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb1 libxshmfence1 \
  libzstd1 zlib1g libffi8 libxml2 libedit2 libtinfo6 libz3-4 libxau6 libxdmcp6 libbsd0 libmd0; do
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'ok installed' || want+=("$dep")
done
(cd "$APT/debs" && apt-get "${O[@]}" download -qq "${want[@]}")
for deb in "$APT/debs"/*.deb; do dpkg-deb -x "$deb" "$DIR/root"; done
LIB="$DIR/root/usr/lib/x86_64-linux-gnu"
test -f "$LIB/libvulkan_lvp.so" && test -e "$LIB/libvulkan.so.1"
# The packaged ICD names its library by system path; point it at the unpacked one.
ICD="$(ls "$DIR"/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -n 1)"
sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$LIB/libvulkan_lvp.so\"#" "$ICD" \
  >"$DIR/lvp_icd.json.tmp"
ln -sfn "$LIB" "$DIR/lib"
mv "$DIR/lvp_icd.json.tmp" "$DIR/lvp_icd.json"
rm -rf "$APT"
echo "lavapipe: Mesa $MESA in $DIR ($(du -sh "$DIR/root" | cut -f1))"
