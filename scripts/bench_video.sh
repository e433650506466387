#!/usr/bin/env bash
# Video hashing speed, side by side in one run: `neardup hash -j 1` at the
# default interval (one frame per second) against `ffmpeg -threads 1 -i FILE
# -f null -` decoding the same file, each file REPEAT times alternately,
# median wall time. Prints a Markdown table; ratios, not absolute times,
# are what carries over between machines.
#
#   cargo build --release --locked
#   scripts/bench_video.sh target/release/neardup FILE.mp4 [FILE ...]
#
# REPEAT (default 5) sets the repetitions.
set -euo pipefail
bin=${1:?usage: bench_video.sh NEARDUP_BINARY FILE...}
shift
repeat=${REPEAT:-5}
command -v ffmpeg >/dev/null || { echo "ffmpeg is not on PATH" >&2; exit 2; }

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| file | size | frames | neardup hash -j 1 (s) | ffmpeg -threads 1 decode (s) | ratio |"
echo "|---|---|---:|---:|---:|---:|"
for f in "$@"; do
  nd=(); ff=()
  for _ in $(seq "$repeat"); do
    t0=$(now); "$bin" hash -j 1 "$f" >/dev/null; t1=$(now)
    ffmpeg -v error -nostdin -threads 1 -i "$f" -f null - ; t2=$(now)
    nd+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    ff+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')")
  done
  a=$(printf '%s\n' "${nd[@]}" | median); b=$(printf '%s\n' "${ff[@]}" | median)
  size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,nb_frames,profile -of csv=p=0 "$f")
  IFS=, read -r profile w h frames <<<"$size"
  printf '| %s | %sx%s %s | %s | %.3f | %.3f | %.2f |\n' "$(basename "$f")" "$w" "$h" "$profile" "$frames" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {print a / b}')"
done
