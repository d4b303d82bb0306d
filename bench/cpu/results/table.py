#!/usr/bin/env python3
"""Renders a bench_ops JSON (Google Benchmark, written by bench/cpu/run.sh) as a markdown table.

    python3 table.py results/2026-11-20-intel-xeon-processor.json > results/table.md
    python3 table.py --summary results/....json     # only the compact table (for the README)
    python3 table.py BASE.json --dw-step LATER.json  # dW and step rows from a later run

With --dw-step the dW and step rows (and their spreads) come from the second JSON, fwd and dX
from the first; the header names both runs and which rows come from which.

It reads the median aggregate of every benchmark (or the single run when there was one
repetition) and prints: the run's machine and conditions, the issue's four targets with PASS or
MISS and the measured values, and per problem and layout the ratios to Eigen dense and to Eigen
CSR for fwd, dX, dW and the full step (peer time / stco time: above 1 means stco is faster).
Python 3 standard library only.
"""

import json
import statistics
import sys

OPS = ["fwd", "dx", "dw", "step"]
OP_TITLE = {"fwd": "fwd", "dx": "dX", "dw": "dW", "step": "step"}
LAYOUT_ORDER = [
    "nm<2,4>@0.50",
    "nm<1,4>@0.75",
    "tile_wise<32>@0.50",
    "tile_wise<32>@0.75",
    "tile_vector<32,2,4>@0.50",
    "tile_vector<32,2,4>@0.75",
    "block<4,4>@0.50",
    "block<4,4>@0.75",
    "channel@0.50",
    "channel@0.75",
    "csr@0.50",
    "csr@0.75",
]

# (id, what, layout, op, counter, threshold)
TARGETS = [
    ("T1", "`nm<2,4>` forward ≥ 1.3× Eigen dense", "nm<2,4>@0.50", "fwd", "vs_eigen_dense", 1.3),
    ("T2", "`tile_wise<32>` at 75% forward ≥ 2.5× Eigen dense", "tile_wise<32>@0.75", "fwd",
     "vs_eigen_dense", 2.5),
    ("T3", "full step (fwd + dX + dW) at 2:4 ≥ 1.3× Eigen dense", "nm<2,4>@0.50", "step",
     "vs_eigen_dense", 1.3),
]
T4_THRESHOLD = 2.0


def split_name(run_name):
    """'mm1024/nm<2,4>@0.50/fwd/min_time:0.050/...' -> ('mm1024', 'nm<2,4>@0.50', 'fwd')."""
    parts = run_name.split("/")
    return parts[0], parts[1], parts[2]


def load(path):
    with open(path) as f:
        data = json.load(f)
    rows = {}  # (problem, layout) -> op -> benchmark entry
    cvs = []  # (cv, name) of real time
    order = []  # problems in run order
    have_aggregates = any(b.get("run_type") == "aggregate" for b in data["benchmarks"])
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            continue
        prob, layout, op = split_name(b.get("run_name", b["name"]))
        if prob not in order:
            order.append(prob)
        if have_aggregates:
            if b.get("run_type") != "aggregate":
                continue
            if b.get("aggregate_name") == "cv":
                cvs.append((b["real_time"], f"{prob}/{layout}/{op}"))
                continue
            if b.get("aggregate_name") != "median":
                continue
        rows.setdefault((prob, layout), {})[op] = b
    return data["context"], rows, order, cvs


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}"


def counter(rows, prob, layout, op, name):
    b = rows.get((prob, layout), {}).get(op)
    return None if b is None else b.get(name)


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    p = 1.0
    for x in xs:
        p *= x
    return p ** (1.0 / len(xs))


def summary(rows, order):
    """A compact table for the README: per layout, the square matmuls one by one and the conv
    layers of each network as a geometric mean."""
    squares = [p for p in order if p.startswith("mm")]
    nets = []
    for p in order:
        if "." in p and p.split(".")[0] not in nets:
            nets.append(p.split(".")[0])
    out = []
    w = out.append
    cols = [(p, [p]) for p in squares] + \
           [(f"{n} (geomean of {sum(q.startswith(n + '.') for q in order)} layers)",
             [q for q in order if q.startswith(n + ".")]) for n in nets]
    w("Ratios to Eigen dense, forward / full step (fwd + dX + dW), and forward to Eigen CSR on "
      "the same mask, float32, 2 threads:")
    w("")
    w("| layout | " + " | ".join(c for c, _ in cols) + " | fwd ×CSR (geomean, all) |")
    w("|---|" + "---|" * (len(cols) + 1))
    for l in LAYOUT_ORDER:
        if not any((p, l) in rows for p in order):
            continue
        cells = [f"`{l}`"]
        for _, probs in cols:
            f = geomean([counter(rows, p, l, "fwd", "vs_eigen_dense") for p in probs])
            st = geomean([counter(rows, p, l, "step", "vs_eigen_dense") for p in probs])
            cells.append(f"{fmt_ratio(f)} / {fmt_ratio(st)}")
        cells.append(fmt_ratio(geomean([counter(rows, p, l, "fwd", "vs_eigen_csr")
                                        for p in order])))
        w("| " + " | ".join(cells) + " |")
    return out


def merge_dw_step(rows, cvs, later_rows, later_cvs):
    """rows with the dW and step entries of later_rows; cvs likewise."""
    keep = {"dw", "step"}
    for key, ops in later_rows.items():
        for op, b in ops.items():
            if op in keep:
                rows.setdefault(key, {})[op] = b
    cvs = [c for c in cvs if c[1].split("/")[-1] not in keep]
    cvs += [c for c in later_cvs if c[1].split("/")[-1] in keep]
    return rows, cvs


def render(ctx, rows, order, cvs, later_ctx=None, later_path=None, base_path=None):
    out = []
    w = out.append
    w("# CPU benchmark: stco sparse kernels vs Eigen (bench_ops)")
    w("")
    w("Generated by `bench/cpu/results/table.py` from the JSON next to it; reproduce with "
      "`bench/cpu/run.sh`. Every number is a median over repetitions in one run, float32, "
      "2 threads for stco and for Eigen. A ratio is the peer's time over stco's time for the same "
      "op on the same problem (above 1: stco is faster); the peers are timed in the same process "
      "right before each problem × layout.")
    w("")
    w("| | |")
    w("|---|---|")
    model = ctx.get("cpu_model", "unknown")
    w(f"| CPU | {model}, {ctx.get('num_cpus', '?')} cores, {ctx.get('mhz_per_cpu', '?')} MHz |")
    caches = ctx.get("caches", [])
    if caches:
        seen = []
        for c in caches:
            s = f"L{c['level']} {c['type'][0].lower() if c['type'] != 'Unified' else ''}" \
                f"{c['size'] // 1024} KiB"
            if s not in seen:
                seen.append(s)
        w(f"| caches (per instance) | {', '.join(seen)} |")
    w(f"| date | {ctx.get('date', '?')} |")
    w(f"| threads | stco {ctx.get('stco_threads', '?')}, Eigen {ctx.get('eigen_threads', '?')} "
      f"(Eigen {ctx.get('eigen_version', '?')}, OpenMP {ctx.get('eigen_openmp', '?')}) |")
    env = ", ".join(f"{k}={ctx[k]}" for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in ctx)
    if env:
        w(f"| OpenMP environment | {env} |")
    w(f"| repetitions | {ctx.get('repetitions', '?')} per benchmark |")
    w(f"| convolutions | batch {ctx.get('conv_batch', '?')}, NHWC input: "
      f"{ctx.get('conv_inputs', '?')}; peers run the im2col GEMMs, im2col not timed |")
    loads = [ctx.get("load_before"), ctx.get("load_after")]
    if any(loads):
        w(f"| load average (1 min) | before {loads[0] or '?'}, after {loads[1] or '?'} |")
    if cvs:
        vals = sorted(c for c, _ in cvs)
        worst = max(cvs)
        w(f"| run-to-run spread (cv of time) | median {100 * statistics.median(vals):.1f}%, "
          f"max {100 * worst[0]:.1f}% ({worst[1]}) |")
    w(f"| bench_ops build | {ctx.get('bench_build', '?')}, SIMD {ctx.get('simd_bytes', '?')} bytes |")
    if later_ctx is not None:
        ll = [later_ctx.get("load_before"), later_ctx.get("load_after")]
        w(f"| rows from two runs | fwd and dX: `{base_path}` ({ctx.get('date', '?')}); dW and step: "
          f"`{later_path}` ({later_ctx.get('date', '?')}, {later_ctx.get('cpu_model', '?')}, "
          f"load before {ll[0] or '?'}, after {ll[1] or '?'}; its own Eigen peers) |")
    w("")

    w("## Summary")
    w("")
    out.extend(summary(rows, order))
    w("")

    squares = [p for p in order if p.startswith("mm")]
    w("## Targets (issue 3)")
    w("")
    w("A target passes when every problem meets it; the square matmuls are also shown apart.")
    w("")
    w("| target | criterion | all problems | square matmuls | worst (problem) | median |")
    w("|---|---|---|---|---|---|")
    per_problem = {}
    for tid, what, layout, op, name, thr in TARGETS:
        vals = [(p, counter(rows, p, layout, op, name)) for p in order]
        vals = [(p, v) for p, v in vals if v is not None]
        per_problem[tid] = dict(vals)
        if not vals:
            w(f"| {tid} | {what} | not measured | | | |")
            continue
        ok = sum(v >= thr for _, v in vals)
        sq = [(p, v) for p, v in vals if p in squares]
        sq_ok = sum(v >= thr for _, v in sq)
        worst = min(vals, key=lambda pv: pv[1])
        verdict = "PASS" if ok == len(vals) else f"MISS ({ok}/{len(vals)} meet it)"
        sq_verdict = ("PASS" if sq_ok == len(sq) else f"MISS ({sq_ok}/{len(sq)})") if sq else "–"
        sq_vals = ", ".join(f"{v:.2f}" for _, v in sq)
        w(f"| {tid} | {what} | {verdict} | {sq_verdict} ({sq_vals}) | {worst[1]:.2f} ({worst[0]}) | "
          f"{statistics.median(v for _, v in vals):.2f} |")
    structured = [l for l in LAYOUT_ORDER if not l.startswith("csr")]
    t4 = [(p, l, counter(rows, p, l, "fwd", "vs_eigen_csr")) for p in order for l in structured]
    t4 = [(p, l, v) for p, l, v in t4 if v is not None]
    if t4:
        ok = sum(v >= T4_THRESHOLD for _, _, v in t4)
        worst = min(t4, key=lambda x: x[2])
        sq = [x for x in t4 if x[0] in squares]
        sq_ok = sum(v >= T4_THRESHOLD for _, _, v in sq)
        verdict = "PASS" if ok == len(t4) else f"MISS ({ok}/{len(t4)} meet it)"
        sq_verdict = "PASS" if sq_ok == len(sq) else f"MISS ({sq_ok}/{len(sq)})"
        w(f"| T4 | every structured layout forward ≥ 2× Eigen CSR at the same density | {verdict} | "
          f"{sq_verdict} | {worst[2]:.2f} ({worst[0]}, {worst[1]}) | "
          f"{statistics.median(v for _, _, v in t4):.2f} |")
    w("")
    w("Per problem (✗ marks a miss):")
    w("")
    w("| problem | T1 nm<2,4> fwd ×dense | T2 tile_wise 75% fwd ×dense | T3 2:4 step ×dense |")
    w("|---|---|---|---|")
    for p in order:
        cells = []
        for tid, _, _, _, _, thr in TARGETS:
            v = per_problem.get(tid, {}).get(p)
            cells.append("–" if v is None else f"{v:.2f}" + ("" if v >= thr else " ✗"))
        w(f"| {p} | " + " | ".join(cells) + " |")
    w("")
    if t4:
        w("T4, forward ×Eigen CSR on the same mask (≥ 2 required; ✗ marks a miss):")
        w("")
        w("| problem | " + " | ".join(f"`{l}`" for l in structured) + " |")
        w("|---|" + "---|" * len(structured))
        for p in order:
            cells = []
            for l in structured:
                v = counter(rows, p, l, "fwd", "vs_eigen_csr")
                cells.append("–" if v is None else f"{v:.2f}" + ("" if v >= T4_THRESHOLD else " ✗"))
            w(f"| {p} | " + " | ".join(cells) + " |")
        w("")

    w("## Ratios per problem and layout")
    w("")
    w("`×dense`: Eigen dense GEMM time / stco time; `×CSR`: Eigen `SparseMatrix<float, RowMajor>` "
      "time on the same mask / stco time. Eigen CSR's dX uses a row-major copy of Sᵀ built "
      "outside the timing; its dW is Eigen's dense dY·Xᵀ plus a gather at the kept entries (Eigen "
      "has no sampled product). `GFLOP/s` counts stco's useful work, 2·kept·N per product.")
    w("")
    for p in order:
        any_layout = next((l for l in LAYOUT_ORDER if (p, l) in rows), None)
        if any_layout is None:
            continue
        first = rows[(p, any_layout)]
        some = next(iter(first.values()))
        w(f"### {p}")
        w("")
        dense_bits = []
        for op in ["fwd", "dx", "dw"]:
            b = first.get(op)
            if b:
                dense_bits.append(f"{OP_TITLE[op]} {b['eigen_dense_ms']:.2f} ms "
                                  f"({b['eigen_dense_gflops']:.0f} GFLOP/s)")
        w(f"{some.get('label', '')}. Eigen dense: " + ", ".join(dense_bits) + ".")
        w("")
        head = ["layout", "density"] + [f"{OP_TITLE[o]} ×dense" for o in OPS] + \
               [f"{OP_TITLE[o]} ×CSR" for o in OPS] + ["step ms", "fwd GFLOP/s"]
        w("| " + " | ".join(head) + " |")
        w("|" + "---|" * len(head))
        for l in LAYOUT_ORDER:
            r = rows.get((p, l))
            if not r:
                continue
            dens = next(iter(r.values())).get("density")
            cells = [f"`{l}`", "–" if dens is None else f"{dens:.3f}"]
            cells += [fmt_ratio(r[o]["vs_eigen_dense"]) if o in r else "–" for o in OPS]
            cells += [fmt_ratio(r[o]["vs_eigen_csr"]) if o in r else "–" for o in OPS]
            cells.append(f"{r['step']['real_time']:.2f}" if "step" in r else "–")
            cells.append(f"{r['fwd']['gflops']:.0f}" if "fwd" in r else "–")
            w("| " + " | ".join(cells) + " |")
        w("")
    return "\n".join(out)


def main():
    args = sys.argv[1:]
    only_summary = "--summary" in args
    args = [a for a in args if a != "--summary"]
    later = None
    if "--dw-step" in args:
        i = args.index("--dw-step")
        if i + 1 >= len(args):
            sys.exit("usage: table.py [--summary] RESULT.json [--dw-step LATER.json] > table.md")
        later = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit("usage: table.py [--summary] RESULT.json [--dw-step LATER.json] > table.md")
    ctx, rows, order, cvs = load(args[0])
    later_ctx = None
    if later:
        later_ctx, later_rows, _, later_cvs = load(later)
        rows, cvs = merge_dw_step(rows, cvs, later_rows, later_cvs)
    if only_summary:
        print("\n".join(summary(rows, order)))
    else:
        print(render(ctx, rows, order, cvs, later_ctx, later and later.split("/")[-1],
                     args[0].split("/")[-1]))


if __name__ == "__main__":
    main()
