#!/usr/bin/env python3
"""How a predicting ladder's twins fare under other core models, without rerunning live.

For each ladder directory written by `feedlab sweep SCENARIO --predict`, each live variant
with a twin, each live step below 80% of that variant's live knee, each slice S of
`--slices` and each thread count T of `--threads`, this reruns the twin exactly as the sweep
ran it (its spec's calibration, client limit, cores, warm-up and duration, and the step's
core speed from the live ladder's machine-speed probe, `speed` in sweep.json; see `twin_of` in
src/sweep.rs) with `sim.deployment.cpu-slice-ms=S` (0 is processor sharing) and
`sim.deployment.cpu-threads=T` (0 is unlimited), and compares the feed and photo_get p50 and
p99 with the live step's. A simulated run reads no clock, so with the ladder's own core
model it gives the ladder's twin figures back exactly.

Prints, per core model: the cells within 20% of live (p50 and p99 apart), the worst error,
and the feed p99 errors by load. Simulated runs go under --out (default /tmp/twin-slices).

    python3 benches/twin_slices.py --scenario scenarios/quickstart.toml \\
        --slices 0,0.5,1.5 --threads 0,4 out/sweep/quickstart

FEEDLAB_BIN overrides the binary (default target/release/feedlab).
"""

import argparse
import concurrent.futures as cf
import glob
import json
import os
import statistics
import subprocess
import sys

OPS = ("feed", "photo_get")


def twin_settings(ladder, variant):
    """The `--set` pairs that rebuild the sweep's twin of `variant` (load and slice apart)."""
    specs = glob.glob(f"{ladder}/steps/x1.0000/{variant}-sim/spec.json")
    if not specs:
        sys.exit(f"twin_slices: {ladder} has no twin of {variant} at x1 (run the sweep with --predict)")
    spec = json.load(open(specs[0]))
    sim = spec["sim"]
    return [
        "scenario.mode=sim",
        f"sim.population={sim['population']}",
        f"sim.client-max-in-flight={sim['client-max-in-flight']}",
        f"sim.deployment.cores={sim['deployment']['cores']}",
        f"scenario.duration-s={spec['duration_s']}",
        f"sim.duration-s={sim['duration-s']}",
        f"sim.warmup-s={sim['warmup-s']}",
        f"driver.warmup-s={spec['driver']['warmup-s']}",
        f"sim.calibration={spec['calibration']}",
    ]


def live_cells(ladder):
    """{(variant, load): {op: (p50, p99)}} for live steps below 80% of the live knee."""
    sweep = json.load(open(f"{ladder}/sweep.json"))
    cells = {}
    for v in sweep["variants"]:
        if v["variant"].endswith("-sim") or not v.get("knee"):
            continue
        for st in v["steps"]:
            key = (v["variant"], round(st["load"], 4))
            if st["load"] <= 0.8 * v["knee"]["load"] and key not in cells:
                cells[key] = {op: (st["ops"][op]["p50_ms"], st["ops"][op]["p99_ms"]) for op in OPS}
    return cells


def twin_speed(ladder, variant, load):
    """The core speed the sweep's twin of `variant` ran its step at `load` at (1 if none)."""
    sweep = json.load(open(f"{ladder}/sweep.json"))
    for v in sweep["variants"]:
        if v["variant"] == f"{variant}-sim":
            for st in v["steps"]:
                if round(st["load"], 4) == load:
                    return st.get("speed", 1.0)
    return 1.0


def simulate(binary, scenario, out, job):
    ladder, variant, load, (slice_ms, threads), settings = job
    name = f"{os.path.basename(os.path.normpath(ladder))}-{variant}-{load}-{slice_ms}-{threads}"
    dest = os.path.join(out, name)
    args = [binary, "run", scenario, "--variant", variant, "--out", dest]
    model = [f"sim.deployment.cpu-slice-ms={slice_ms}"]
    model += [f"sim.deployment.cpu-threads={threads}"] if threads else []
    for s in settings + [f"traffic.load={load}"] + model:
        args += ["--set", s]
    subprocess.run(args, check=True, capture_output=True)
    summary = json.load(open(glob.glob(f"{dest}/**/summary.json", recursive=True)[0]))
    return job[:4], {op: (summary["ops"][op]["p50_ms"], summary["ops"][op]["p99_ms"]) for op in OPS}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--slices", default="0,0.5,1.5")
    ap.add_argument("--threads", default="0")
    ap.add_argument("--out", default="/tmp/twin-slices")
    ap.add_argument("ladders", nargs="+")
    a = ap.parse_args()
    binary = os.environ.get("FEEDLAB_BIN", "target/release/feedlab")
    models = [(float(s), int(t)) for s in a.slices.split(",") for t in a.threads.split(",")]
    live, jobs = {}, []
    for ladder in a.ladders:
        for (variant, load), cell in live_cells(ladder).items():
            live[(ladder, variant, load)] = cell
            settings = twin_settings(ladder, variant)
            settings = settings + [f"sim.deployment.cpu-speed={twin_speed(ladder, variant, load)}"]
            jobs += [(ladder, variant, load, m, settings) for m in models]
    with cf.ThreadPoolExecutor(2) as ex:
        sims = dict(ex.map(lambda j: simulate(binary, a.scenario, a.out, j), jobs))
    for s in models:
        errs = {0: [], 1: []}
        by_load = {}
        for (ladder, variant, load), cell in sorted(live.items()):
            sim = sims[(ladder, variant, load, s)]
            for op in OPS:
                for q in (0, 1):
                    errs[q].append((sim[op][q] - cell[op][q]) / cell[op][q])
            feed = (sim["feed"][1] - cell["feed"][1]) / cell["feed"][1]
            by_load.setdefault(load, []).append(feed)
        within = [sum(abs(e) <= 0.2 for e in errs[q]) for q in (0, 1)]
        worst = max(abs(e) for e in errs[0] + errs[1])
        print(f"slice {s[0]} ms, threads {s[1]}: p50 {within[0]}/{len(errs[0])} and p99 {within[1]}/{len(errs[1])} "
              f"within 20%; worst {worst:.0%}; median p99 error {statistics.median(errs[1]):+.0%}")
        for load, e in sorted(by_load.items()):
            print(f"  x{load:g} feed p99 errors: " + " ".join(f"{x:+.0%}" for x in e))


if __name__ == "__main__":
    main()
