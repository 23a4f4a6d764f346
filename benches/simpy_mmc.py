#!/usr/bin/env python3
"""M/M/c in SimPy: the peer figure for feedlab-sim's engine speed.

The model is the one in sim/src/mmc.rs: Poisson arrivals at rate
lambda = rho * c * mu, one simpy.Resource of c servers, exponential service at
rate mu, FIFO; every customer's wait (arrival -> start of service) is recorded.

Prints one JSON object: customers/s and events/s, by wall clock and by CPU time
(the CPU figures are steadier on a shared machine). "events" is SimPy's own
count of scheduled events; "model_events" counts 2 per customer (arrival,
departure), which is what feedlab-sim's engine processes for the same model.

With --rust-bench PATH (the release build of
`cargo build --release -p feedlab-sim --example mmc_bench`), it also runs the
Rust model with the same parameters and prints both plus the speed ratio, so
one command gives the comparison:

    python3 benches/simpy_mmc.py --customers 200000 \
        --rust-bench target/release/examples/mmc_bench --rust-customers 10000000

Requires simpy 4.1.x (pip install simpy==4.1.1).
"""

import argparse
import json
import math
import random
import subprocess
import sys
import time

import simpy


def erlang_c(c, a):
    """Probability of waiting in M/M/c with offered load a (Erlang B recursion)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def run_simpy(customers, c, rho, seed, mu=1.0):
    """Simulate `customers` customers; return a dict of figures."""
    lam = rho * c * mu
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    waits = []

    def customer():
        arrived = env.now
        with server.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(mu))

    def source():
        for _ in range(customers):
            env.process(customer())
            yield env.timeout(rng.expovariate(lam))

    env.process(source())
    wall0, cpu0 = time.perf_counter(), time.process_time()
    env.run()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    # SimPy numbers every scheduled event from this counter (simpy/core.py).
    events = next(env._eid) if hasattr(env, "_eid") else None

    waits.sort()
    a = lam / mu
    ec = erlang_c(c, a)
    decay = c * mu - lam
    return {
        "engine": "simpy",
        "simpy_version": simpy.__version__,
        "python": sys.version.split()[0],
        "c": c,
        "rho": rho,
        "customers": customers,
        "events": events,
        "model_events": 2 * customers,
        "wall_s": wall,
        "cpu_s": cpu,
        "customers_per_s": customers / wall,
        "events_per_s": events / wall if events else None,
        "model_events_per_s": 2 * customers / wall,
        "cpu_customers_per_s": customers / cpu,
        "cpu_model_events_per_s": 2 * customers / cpu,
        "mean_wait": sum(waits) / len(waits),
        "theory_mean_wait": ec / decay,
        "p99_wait": waits[min(len(waits) - 1, int(0.99 * len(waits)))],
        "theory_p99_wait": math.log(ec / 0.01) / decay if ec > 0.01 else 0.0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--c", type=int, default=4)
    ap.add_argument("--rho", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--rust-bench", help="path to feedlab-sim's mmc_bench example binary")
    ap.add_argument("--rust-customers", type=int, default=10_000_000)
    args = ap.parse_args()

    py = run_simpy(args.customers, args.c, args.rho, args.seed)
    if not args.rust_bench:
        print(json.dumps(py))
        return
    out = subprocess.run(
        [args.rust_bench, str(args.rust_customers), str(args.c), str(args.rho), str(args.seed)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rust = json.loads(out.strip().splitlines()[-1])
    ratio = {
        "customers_per_s_wall": rust["customers_per_s"] / py["customers_per_s"],
    }
    if rust.get("cpu_customers_per_s"):
        ratio["customers_per_s_cpu"] = rust["cpu_customers_per_s"] / py["cpu_customers_per_s"]
    print(json.dumps({"simpy": py, "feedlab_sim": rust, "speedup": ratio}, indent=2))


if __name__ == "__main__":
    main()
