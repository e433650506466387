#!/usr/bin/env bash
# Builds neardup, indexes the sample campaign, writes its report and takes a
# screenshot of it in headless Chromium (installed with apt-get when
# missing). Prints the paths of the page, the screenshot and the DOM dump.
#
#   scripts/screenshot-report.sh [OUT_DIR]     (default: target/report-shot)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/report-shot}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$browser" ]; then
    echo "installing chromium with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    browser="$(command -v chromium)"
fi

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/neardup"
rm -rf "$out/index"
"$bin" index --quiet --index "$out/index" samples/campaign
"$bin" report --index "$out/index" --out "$out/report.html"

# No network: the page's CSP allows only data: images and inline code, and
# Chromium's own background traffic is switched off.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --user-data-dir="$(mktemp -d)" --hide-scrollbars)
"$browser" "${flags[@]}" --window-size=1280,2000 --screenshot="$out/report.png" \
    "file://$out/report.html" 2>/dev/null
"$browser" "${flags[@]}" --dump-dom "file://$out/report.html" 2>/dev/null > "$out/report.dom.html"
echo "$out/report.html"
echo "$out/report.png"
echo "$out/report.dom.html"
