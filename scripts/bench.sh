#!/usr/bin/env bash
# Benchmark agentpack at scale (not a test). Makes a SIZE MiB MSI (wixl) and a SIZE MiB pkg,
# builds N = 1, 10, 100, 1000 policies against them, and prints a Markdown table:
#   - build wall time and peak RSS (/usr/bin/time -v) per N;
#   - hashing: agentpack's throughput (N=1 build, which hashes both installers once) next to
#     sha256sum on the same files;
#   - per-policy cost: agentpack's marginal cost per policy next to the usual Linux alternative,
#     a patched copy of the MSI per organisation (cp + msibuild UPDATE Property).
#
#   scripts/bench.sh [--size MIB] [--counts "1 10 100 1000"] [--copies K] [--work DIR]
# Needs: wixl, msitools (msibuild), python3, /usr/bin/time, sha256sum. CI runs it with
# --size 8 --counts "1 10" as a smoke run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=256 counts="1 10 100 1000" copies=10 work=""
while [ $# -gt 0 ]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --counts) counts=$2; shift 2 ;;
    --copies) copies=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for t in wixl msibuild python3 sha256sum; do
  command -v "$t" >/dev/null || { echo "bench.sh: $t is missing (../shared/tools/install-test-deps)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/agentpack"
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/agentpack-bench.XXXXXX"); trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work"
cd "$work"

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

# --- inputs -------------------------------------------------------------------------------
if [ ! -f big.msi ] || [ "$(cat size 2>/dev/null)" != "$size" ]; then
  echo "making a ${size} MiB MSI and pkg in $work ..." >&2
  head -c "$((size << 20))" /dev/urandom > big.bin
  cp "$root/scripts/bench/big.wxs" .
  wixl -a x64 -o big.msi big.wxs 2>/dev/null
  printf '\r\n\r\n1252\t_ForceCodepage\r\n' > _ForceCodepage.idt
  msibuild big.msi -i _ForceCodepage.idt
  python3 "$root/scripts/bench/make_big_pkg.py" big.pkg "$size"
  rm -f big.bin
  echo "$size" > size
fi
msi_mib=$(( $(stat -c %s big.msi) >> 20 )); pkg_mib=$(( $(stat -c %s big.pkg) >> 20 ))

policy() { # name
  cat > "policies/$1.yaml" <<P
name: $1
product: crashplan
organization: Org $1
deployment_url: https://console.us2.crashplan.com
token: 0fb12341-246b-448d-b07f-c6573ad5ad02
registration: silent
P
}

# --- sha256sum baseline (warm cache: read both once first) ----------------------------------
cat big.msi big.pkg > /dev/null
t0=$(now); sha256sum big.msi big.pkg > /dev/null; t1=$(now)
sha_s=$(secs "$t0" "$t1")

# --- agentpack builds -----------------------------------------------------------------------
rows=""
declare -A wall
for n in $counts; do
  rm -rf policies "out-$n"; mkdir policies
  for i in $(seq -w 1 "$n"); do policy "org-$i"; done
  printf 'product: crashplan\ninstallers: {windows: big.msi, macos: big.pkg}\npolicies: ["policies/*.yaml"]\nout: out-%s\n' "$n" > agentpack.yaml
  /usr/bin/time -v -o "time-$n.txt" "$bin" build > /dev/null 2> "build-$n.err" || { cat "build-$n.err" >&2; exit 1; }
  w=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "time-$n.txt" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "time-$n.txt")
  files=$(find "out-$n" -type f | wc -l)
  wall[$n]=$w
  rows+="| $n | $w | $rss | $files |"$'\n'
  rm -rf "out-$n"
done

# --- agentpack's SHA-256 throughput alone: one policy, the MSI only (hash + MSI tables) ------
rm -rf policies; mkdir policies; policy org-1
/usr/bin/time -f "%e" -o time-msi.txt "$bin" build --product crashplan --msi big.msi --policy policies/org-1.yaml --out out-msi > /dev/null 2>&1
rm -rf out-msi
msi_s=$(tail -n 1 time-msi.txt)
t0=$(now); sha256sum big.msi > /dev/null; t1=$(now)
sha_msi_s=$(secs "$t0" "$t1")

# --- the alternative: a patched MSI copy per organisation ------------------------------------
t0=$(now)
for i in $(seq 1 "$copies"); do
  cp big.msi "copy-$i.msi"
  msibuild "copy-$i.msi" -q "UPDATE Property SET Value='corp.example.com' WHERE Property='SERVERADDRESS'"
done
t1=$(now)
rm -f copy-*.msi
copy_s=$(secs "$t0" "$t1")

first=$(echo "$counts" | awk '{print $1}'); last=$(echo "$counts" | awk '{print $NF}')
python3 - "$sha_s" "${wall[$first]}" "${wall[$last]}" "$first" "$last" "$copy_s" "$copies" "$msi_mib" "$pkg_mib" "$msi_s" "$sha_msi_s" <<'PY'
import sys
sha, w1, wn, n1, nn, copy, copies, msi, pkg, msi_s, sha_msi = sys.argv[1:]
sha, w1, wn, copy, msi_s, sha_msi = map(float, (sha, w1, wn, copy, msi_s, sha_msi)); n1, nn, copies = int(n1), int(nn), int(copies)
mib = int(msi) + int(pkg)
per_policy = (wn - w1) / (nn - n1) if nn > n1 else float("nan")
per_copy = copy / copies
print(f"\nsha256sum of both installers ({mib} MiB): {sha:.3f} s = {mib/sha:.0f} MiB/s")
print(f"SHA-256 of the MSI ({msi} MiB): sha256sum {sha_msi:.3f} s = {int(msi)/sha_msi:.0f} MiB/s; "
      f"agentpack (whole build, N=1, MSI only) {msi_s:.3f} s = {int(msi)/max(msi_s, 1e-3):.0f} MiB/s")
print(f"agentpack build, N={n1}, both installers (SHA-256 of both + SHA3-512 of the pkg for Jamf): "
      f"{w1:.3f} s = {mib/w1:.0f} MiB/s end to end")
print(f"agentpack N={nn}: {wn:.3f} s = {wn/sha:.2f} x sha256sum (target <= 3)")
print(f"per policy: agentpack {per_policy*1000:.2f} ms vs cp+msibuild {per_copy*1000:.1f} ms "
      f"= {per_copy/per_policy if per_policy > 0 else float('inf'):.0f}x (target >= 100)")
PY
echo
echo "| policies | wall s | peak RSS MiB | files |"
echo "|---:|---:|---:|---:|"
printf '%s' "$rows"
