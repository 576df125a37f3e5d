#!/usr/bin/env bash
# Fuzz agentpack's readers of untrusted input for a bounded time (not run in CI; CI replays the
# committed corpus with `cargo test --test fuzz_replay`).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      run each target SECONDS (default 60), in turn
#   FUZZ_PARALLEL=2 scripts/fuzz.sh 600         run two targets at a time
#   scripts/fuzz.sh --minimize [TARGET...]      merge the working corpus into the committed one
#                                               (tests/fixtures/fuzz/<target>/) with `cargo fuzz cmin`
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz use the nightly-only flags it needs. New inputs go to fuzz/corpus/<target>/ (not
# committed); crashes to fuzz/artifacts/<target>/: copy a reproducer to
# tests/fixtures/fuzz/<target>/ so the replay test keeps it fixed. Logs: fuzz/logs/<target>.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
export RUSTC_BOOTSTRAP=1
all=(policy_text import_args msi_open mst_read xar_read)

command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: cargo-fuzz not found: cargo install cargo-fuzz" >&2; exit 2; }

if [[ "${1:-}" == "--minimize" ]]; then
    shift
    targets=("${@:-${all[@]}}")
    [[ $# -gt 0 ]] || targets=("${all[@]}")
    for t in "${targets[@]}"; do
        seeds="$root/tests/fixtures/fuzz/$t"
        mkdir -p "$seeds" "corpus/$t"
        # Keep crash reproducers (crash-*, oom-*, timeout-*) by name: cmin renames or drops them.
        keep=$(mktemp -d)
        find "$seeds" -maxdepth 1 \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) -exec mv {} "$keep"/ \;
        cp -n "corpus/$t"/* "$seeds"/ 2>/dev/null || true
        cargo fuzz cmin "$t" "$seeds" -- -malloc_limit_mb=4100 -rss_limit_mb=3072
        mv "$keep"/* "$seeds"/ 2>/dev/null || true
        rmdir "$keep"
        echo "$t: $(ls "$seeds" | wc -l) files, $(du -sh "$seeds" | cut -f1)"
    done
    exit 0
fi

seconds=${1:-60}
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
parallel=${FUZZ_PARALLEL:-1}
mkdir -p logs

cargo fuzz build

run_one() {
    local t=$1
    mkdir -p "corpus/$t" "artifacts/$t"
    # An input that takes >10 s, 3 GiB resident or one allocation over 4 GiB is a finding too
    # (the 4 GiB allows the msi crate's lazily-zeroed string-pool buffer, see the msi_open corpus).
    if cargo fuzz run "$t" "corpus/$t" "$root/tests/fixtures/fuzz/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 -malloc_limit_mb=4100 -print_final_stats=1 \
        >"logs/$t.log" 2>&1; then
        status=ok
    else
        status="FAILED (see fuzz/logs/$t.log and fuzz/artifacts/$t/)"
    fi
    local execs corpus
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -n 1 || echo '?')
    corpus=$(ls "corpus/$t" | wc -l)
    echo "$t: ${seconds}s, ${execs} execs, corpus ${corpus} files, $status"
}

pids=()
for t in "${targets[@]}"; do
    run_one "$t" &
    pids+=($!)
    if [[ ${#pids[@]} -ge $parallel ]]; then
        wait "${pids[0]}" || true
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || true; done
