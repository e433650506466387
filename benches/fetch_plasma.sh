#!/bin/sh
# A second picture corpus for benches/robustness.rs, held out from the one
# the stripping rules were tuned on: KDE Plasma's wallpapers (mostly
# photographs), one picture per wallpaper, from Debian's package.
#
#   sh benches/fetch_plasma.sh DEST
#   NEARDUP_CORPUS=DEST/images cargo bench --bench robustness
set -eu
dest=${1:?usage: fetch_plasma.sh DEST}
mkdir -p "$dest/images"
cd "$dest"
if ! ls plasma-workspace-wallpapers_*.deb >/dev/null 2>&1; then
    apt-get download plasma-workspace-wallpapers
fi
rm -rf x && dpkg-deb -x plasma-workspace-wallpapers_*.deb x
for d in x/usr/share/wallpapers/*/; do
    name=$(basename "$d")
    f=$(ls "$d"contents/images/1920x1080.* 2>/dev/null | head -n 1 || true)
    [ -n "$f" ] || f=$(ls -S "$d"contents/images/*.jpg "$d"contents/images/*.png 2>/dev/null | head -n 1 || true)
    [ -n "$f" ] && cp "$f" "images/$name.${f##*.}"
done
rm -rf x
echo "$(ls images | wc -l) pictures in $dest/images"
