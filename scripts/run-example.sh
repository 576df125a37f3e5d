#!/usr/bin/env bash
# Build the bundled example in a scratch copy and check its outputs with sha256sum and verify.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/debug/agentpack"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples" "$work/examples"
rm -rf "$work/examples/dist"
(cd "$work/examples" && "$bin" build)
(cd "$work/examples/dist" && sha256sum --quiet -c SHA256SUMS)
"$bin" verify "$work/examples/dist"
echo "example: ok"
