#!/usr/bin/env bash
# The regression-gate campaign of issue #13: how often does `feedlab gate`
# raise a false alarm on clean runs, and how often does it catch an injected
# slowdown, on this machine, with the gate step as .ci/run runs it (compare
# the quickstart, gate it against a baseline, and on a breach rerun the
# quickstart once and gate the rerun; a FAIL stands when a check fails both)? .ci/run's baseline is the pooled pair of
# runs scripts/gate-ab makes of the baseline's commit on the same machine: pass
# --baseline out/quickstart-base/base.json after running it to judge as CI does.
#
# Kinds of run (N each):
#   clean  no injection: every final FAIL is a false alarm
#   cpu    --set system.inject.cpu-us.feed=C, C = 25 % of the baseline's
#          work.feed.cpu_us (the smallest over its variants), rounded
#   calls  --set system.inject.feed-extra-calls=1
#   delay  --set system.inject.storage-delay-us=2000
#          --set 'system.inject.storage-delay-shards=[0]'
#
# Usage: benches/gate_campaign.sh [--runs N] [--only clean|cpu|calls|delay]
#          [--out DIR] [--baseline FILE] [--rules FILE] [--cpu-us C] [--first-only]
# --first-only gates each step's first run and never reruns: half the time of
# an injected kind, whose detections .ci/run would confirm with a rerun.
# Writes DIR/<kind>.tsv per kind (rewritten when that kind runs), and from
# every <kind>.tsv present: DIR/results.tsv and DIR/summary.md (also printed).
# Each gate step keeps its outputs under DIR/runs/<kind>-<i>[-rerun]/.
# FEEDLAB_BIN overrides the binary (default target/release/feedlab, built
# when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10
only=all
out=out/gate-campaign
baseline=reports/baselines/quickstart.json
rules=scenarios/quickstart.toml
scenario=scenarios/quickstart.toml
cpu_us=
first_only=no
bin=${FEEDLAB_BIN:-target/release/feedlab}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:?--runs needs N}; shift 2 ;;
    --only) only=${2:?--only needs a kind}; shift 2 ;;
    --out) out=${2:?--out needs DIR}; shift 2 ;;
    --baseline) baseline=${2:?--baseline needs FILE}; shift 2 ;;
    --rules) rules=${2:?--rules needs FILE}; shift 2 ;;
    --cpu-us) cpu_us=${2:?--cpu-us needs C}; shift 2 ;;
    --first-only) first_only=yes; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "gate_campaign: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$runs" in '' | *[!0-9]* | 0) echo "gate_campaign: --runs must be a positive integer" >&2; exit 2 ;; esac
case "$only" in
  all) kinds=(clean cpu calls delay) ;;
  clean | cpu | calls | delay) kinds=("$only") ;;
  *) echo "gate_campaign: --only must be clean, cpu, calls or delay" >&2; exit 2 ;;
esac
[ -f "$baseline" ] || { echo "gate_campaign: no baseline at $baseline" >&2; exit 2; }

if [ ! -x "$bin" ]; then
  echo "== building $bin"
  cargo build --release --bin feedlab
fi
mkdir -p "$out/runs"

# Prints 25 % of the baseline's work.feed.cpu_us (smallest over variants).
feed_cpu_quarter() {
  python3 - "$baseline" <<'PY'
import json, os, sys
path = sys.argv[1]
top = json.load(open(path))
if "variants" in top and "ops" not in top:
    base = os.path.dirname(path)
    files = {e["variant"]: os.path.join(base, e["summary"]) for e in top["variants"]}
else:
    files = {top.get("variant", "?"): path}
cpu = {}
for variant, f in files.items():
    v = ((json.load(open(f)).get("work") or {}).get("feed") or {}).get("cpu_us")
    if isinstance(v, (int, float)):
        cpu[variant] = v
if not cpu:
    sys.exit(f"gate_campaign: {path} has no work.feed.cpu_us; record a current baseline "
             "(feedlab gate --record) or pass --cpu-us C")
variant = min(cpu, key=cpu.get)
print(f"{round(0.25 * cpu[variant])} {variant} {cpu[variant]:.1f}")
PY
}

# The `--set` flags of a kind of run.
sets_of() {
  case "$1" in
    clean) ;;
    cpu) echo "--set system.inject.cpu-us.feed=$cpu_us" ;;
    calls) echo "--set system.inject.feed-extra-calls=1" ;;
    delay) echo "--set system.inject.storage-delay-us=2000 --set system.inject.storage-delay-shards=[0]" ;;
  esac
}

# Failed checks in DIR/junit.xml as `variant:check;...`, or `-`.
failed_checks() {
  python3 - "$1/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("-"); sys.exit()
names = [f'{s.get("name", "").removeprefix("gate.")}:{c.get("name")}'
         for s in root.iter("testsuite") for c in s.iter("testcase")
         if c.find("failure") is not None]
print(";".join(names) or "-")
PY
}

# The checks in both `;`-joined lists of failed_checks, one per line; empty when none.
common_checks() {
  comm -12 <(tr ';' '\n' <<< "$1" | grep -v '^-$' | sort) <(tr ';' '\n' <<< "$2" | grep -v '^-$' | sort)
}

# Runs the quickstart into DIR with the kind's flags, then gates it; prints
# PASS, FAIL or ERROR (compare failed, or the gate exited 2).
compare_and_gate() {
  local dir=$1 kind=$2
  local -a sets
  read -r -a sets <<< "$(sets_of "$kind")"
  rm -rf "$dir"
  mkdir -p "$dir"
  sync
  if ! "$bin" compare "$scenario" --out "$dir" "${sets[@]}" > "$dir/compare.log" 2>&1; then
    echo ERROR
    return
  fi
  local rc=0
  "$bin" gate --baseline "$baseline" --current "$dir/comparison.json" \
    --rules "$rules" --out "$dir" > "$dir/gate.log" 2>&1 || rc=$?
  case $rc in 0) echo PASS ;; 1) echo FAIL ;; *) echo ERROR ;; esac
}

# One CI-like gate step; prints its TSV row.
step() {
  local kind=$1 i=$2
  local dir="$out/runs/$kind-$i"
  local load_start t0 first verdict reran=no first_failed failed
  load_start=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s.%N)
  first=$(compare_and_gate "$dir" "$kind")
  first_failed=$(failed_checks "$dir")
  verdict=$first failed=$first_failed
  # As in .ci/run, any non-zero gate exit reruns the quickstart once, and a FAIL stands
  # only when a check that failed the first run fails the rerun too.
  if [ "$first" != PASS ] && [ "$first_only" = no ]; then
    reran=yes
    verdict=$(compare_and_gate "$dir-rerun" "$kind")
    failed=$(failed_checks "$dir-rerun")
    if [ "$verdict" = FAIL ] && [ "$first" = FAIL ] && [ -z "$(common_checks "$first_failed" "$failed")" ]; then
      verdict=PASS
    fi
  else
    rm -rf "$dir-rerun"
  fi
  local secs
  secs=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.1f", $1 - $2}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$i" "$verdict" "$first" "$reran" \
    "$failed" "$first_failed" "$secs" "$load_start" "$(cut -d' ' -f1 /proc/loadavg)"
}

header=$'kind\trun\tverdict\tfirst\treran\tfailed\tfirst_failed\tstep_s\tload1_start\tload1_end'
for kind in "${kinds[@]}"; do
  if [ "$kind" = cpu ] && [ -z "$cpu_us" ]; then
    quarter=$(feed_cpu_quarter) || exit 2
    read -r cpu_us cpu_variant cpu_base <<< "$quarter"
    echo "== cpu injection: $cpu_us us per feed (25 % of $cpu_variant's $cpu_base us)"
  fi
  echo "== $kind: $runs gate steps $(sets_of "$kind")"
  tsv="$out/$kind.tsv"
  echo "$header" > "$tsv"
  for i in $(seq 1 "$runs"); do
    row=$(step "$kind" "$i")
    echo "$row" >> "$tsv"
    IFS=$'\t' read -r _ _ verdict first reran failed _ secs load _ <<< "$row"
    echo "[$kind $i/$runs] $verdict (first $first, rerun $reran) ${secs}s load $load: $failed"
  done
done

# Results over every kind measured so far.
python3 - "$out" "$cpu_us" <<'PY'
import csv, os, sys
from collections import Counter
out, cpu_us = sys.argv[1], sys.argv[2]
rows = []
for kind in ["clean", "cpu", "calls", "delay"]:
    path = os.path.join(out, f"{kind}.tsv")
    if os.path.exists(path):
        with open(path) as f:
            rows += list(csv.DictReader(f, delimiter="\t"))
with open(os.path.join(out, "results.tsv"), "w") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), delimiter="\t", lineterminator="\n")
    w.writeheader(); w.writerows(rows)
what = {"clean": "false alarms", "cpu": "detections", "calls": "detections", "delay": "detections"}
lines = ["# Gate campaign (issue #13)", "",
         "Each step: compare the quickstart, gate it, on a breach rerun once and gate the rerun.", "",
         "| kind | steps | final FAIL | first-run FAIL | errors | max step s | mean step s | max load1 |",
         "|---|--:|--:|--:|--:|--:|--:|--:|"]
for kind in ["clean", "cpu", "calls", "delay"]:
    rs = [r for r in rows if r["kind"] == kind]
    if not rs:
        continue
    n = len(rs)
    fail = sum(r["verdict"] == "FAIL" for r in rs)
    first = sum(r["first"] == "FAIL" for r in rs)
    err = sum("ERROR" in (r["verdict"], r["first"]) for r in rs)
    secs = [float(r["step_s"]) for r in rs]
    load = max(float(r["load1_start"]) for r in rs)
    lines.append(f"| {kind} ({what[kind]}) | {n} | {fail}/{n} | {first}/{n} | {err} | "
                 f"{max(secs):.1f} | {sum(secs) / n:.1f} | {load:.2f} |")
lines += ["", "Checks failing in the final gate of a step, by kind:", ""]
for kind in ["clean", "cpu", "calls", "delay"]:
    c = Counter(x for r in rows if r["kind"] == kind and r["verdict"] == "FAIL"
                for x in r["failed"].split(";") if x != "-")
    if c:
        lines.append(f"- {kind}: " + ", ".join(f"{k} x{v}" for k, v in c.most_common()))
if cpu_us:
    lines += ["", f"cpu injection: {cpu_us} us per feed."]
text = "\n".join(lines) + "\n"
open(os.path.join(out, "summary.md"), "w").write(text)
print(text, end="")
PY
echo "results: $out/results.tsv, $out/summary.md"
