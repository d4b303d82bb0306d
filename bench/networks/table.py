#!/usr/bin/env python3
"""Renders bench/networks/results/*.json (bench_networks_cpu and bench_networks_gpu, Google
Benchmark JSON) as bench/networks/results/table.md: per network, layout and density, the training
step's speedup over the same step dense and over CSR at the same mask, beside the published STCO
speedups over sparse formats, with the issue's targets checked.

    python3 bench/networks/table.py > bench/networks/results/table.md
    python3 bench/networks/table.py --merge-gpu OUTDIR   # the device run's per-network JSONs
                                                          # -> results/gpu-<device>.json
Python 3 standard library only.
"""

import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
NETS = ["vgg16", "resnet18", "mobilenet_v1", "mobilenet_v2"]
TITLE = {"vgg16": "VGG16", "resnet18": "ResNet-18", "mobilenet_v1": "MobileNetV1",
         "mobilenet_v2": "MobileNetV2"}
# STCO's published end-to-end speedups over sparse formats (the reference numbers).
PUBLISHED = {"vgg16": 3.64, "resnet18": 5.43, "mobilenet_v1": 4.89, "mobilenet_v2": 3.91}
DENSE_TARGET = {"cpu": 1.5, "gpu": 1.3}  # best structured layout at 75 % over dense


def slug(text):
    text = re.sub(r"\((r|tm)\)", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def load_json(path):
    """Google Benchmark JSON; a file cut short by a timeout is closed after its last entry."""
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        cut = text.rfind("\n    }")
        if cut < 0:
            raise
        return json.loads(text[: cut + 6] + "\n  ]\n}\n")


def merge_gpu(outdir):
    merged = None
    for net in NETS:
        path = os.path.join(outdir, net + ".json")
        if not os.path.exists(path):
            continue
        d = load_json(path)
        if merged is None:
            merged = {"context": d["context"], "benchmarks": []}
        merged["benchmarks"] += d["benchmarks"]
    if merged is None:
        sys.exit(f"table.py: no <network>.json under {outdir}")
    device = os.path.join(outdir, "device.txt")
    if os.path.exists(device):
        with open(device) as f:
            merged["context"]["device_info"] = f.read().strip()
    dest = os.path.join(RESULTS, "gpu-" + slug(merged["context"].get("device", "gpu")) + ".json")
    with open(dest, "w") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")
    print(f"table.py: wrote {dest}", file=sys.stderr)


def parse(path, side):
    """-> context, {(net, layout, sparsity): {"total": entry, "layers": [entries]}}."""
    d = load_json(path)
    rows = {}
    for b in d["benchmarks"]:
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        parts = b.get("run_name", b["name"]).split("/")
        net, layout_sp, layer = parts[0], parts[1], parts[2]
        layout, sp = layout_sp.rsplit("@", 1)
        r = rows.setdefault((net, layout, float(sp)), {"total": None, "layers": []})
        if layer == "total":
            r["total"] = b
        else:
            r["layers"].append(b)
    return d["context"], rows


def ratios(entry, side):
    """(×dense, ×CSR, stco ms). GPU ×dense is cuBLAS on the dense-random weight (files before the
    peer module have one cuBLAS column, also on a random weight)."""
    if side == "cpu":
        return entry["vs_eigen_dense"], entry["vs_eigen_csr"], entry["stco_ms"]
    return entry.get("vs_cublas_rand", entry.get("vs_cublas")), entry["vs_csr"], \
        entry["stco_us"] / 1e3


def peers_ms(entry, side):
    if side == "cpu":
        return entry["eigen_dense_ms"], entry["eigen_csr_ms"]
    return entry.get("cublas_rand_us", entry.get("cublas_us")) / 1e3, entry["csr_us"] / 1e3


# The GPU's further peers (bench/gpu/peers): column title, counter name.
GPU_MORE = [("×cuBLAS pruned-dense", "cublas_pruned"), ("×cuDNN dense-random", "cudnn_rand"),
            ("×cuDNN pruned-dense", "cudnn_pruned"), ("×cuSPARSELt", "cusparselt")]


def more_cells(entry, rows_have):
    """The further peers' ratios of one total ('–' where absent; 'n/m layers' where partial)."""
    cells = []
    for _, name in GPU_MORE:
        if not rows_have.get(name):
            continue
        v = entry.get("vs_" + name)
        if v is None:
            cells.append("–")
            continue
        n, total = entry.get(name + "_layers"), entry.get("layers")
        part = f" ({int(n)}/{int(total)} layers)" if n is not None and total and n < total else ""
        cells.append(f"{v:.2f}{part}")
    return cells


def mark(ok):
    return "✅" if ok else "❌ miss"


def fmt(x, nd=2):
    return "–" if x is None else f"{x:.{nd}f}"


def best(rows, net, sp=None):
    """The (layout, sparsity, total entry) with the highest ratio over dense / over CSR."""
    cands = [(k[1], k[2], v["total"]) for k, v in rows.items()
             if k[0] == net and v["total"] is not None and (sp is None or abs(k[2] - sp) < 1e-9)]
    return cands


def summary(side, rows):
    out = []
    col = "×dense" if side == "cpu" else "×cuBLAS"
    out.append(f"| network | published ×sparse | best ×CSR at 50 % | ≥ published? | best ×CSR at "
               f"75 % | ≥ published? | best {col} at 75 % | ≥ {DENSE_TARGET[side]}×? |")
    out.append("|---|---|---|---|---|---|---|---|")
    for net in NETS:
        cells = [TITLE[net], f"{PUBLISHED[net]:.2f}×"]
        for sp in (0.5, 0.75):
            c = best(rows, net, sp)
            if not c:
                cells += ["–", "–"]
                continue
            lay, _, e = max(c, key=lambda t: ratios(t[2], side)[1])
            v = ratios(e, side)[1]
            cells += [f"{v:.2f}× ({lay})", mark(v >= PUBLISHED[net])]
        c = best(rows, net, 0.75)
        if c:
            lay, _, e = max(c, key=lambda t: ratios(t[2], side)[0])
            v = ratios(e, side)[0]
            cells += [f"{v:.2f}× ({lay})", mark(v >= DENSE_TARGET[side])]
        else:
            cells += ["–", "–"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def detail(side, rows, net):
    out = []
    peer = "Eigen dense" if side == "cpu" else "cuBLAS dense-random"
    csr = "Eigen CSR" if side == "cpu" else "cuSPARSE CSR"
    keys = [k for k in rows if k[0] == net and rows[k]["total"] is not None]
    have = {name: any("vs_" + name in rows[k]["total"] for k in keys) for _, name in GPU_MORE}
    more = [title for title, name in GPU_MORE if have[name]] if side == "gpu" else []
    out.append(f"| layout | density | step (ms) | {peer} (ms) | {csr} (ms) | ×dense | ×CSR | "
               f"×CSR ≥ {PUBLISHED[net]:.2f}? | " + "".join(t + " | " for t in more) + "layers |")
    out.append("|---|---|---|---|---|---|---|---|" + "---|" * len(more) + "---|")
    for k in keys:
        e = rows[k]["total"]
        vd, vc, ms = ratios(e, side)
        dms, cms = peers_ms(e, side)
        extra = "".join(c + " | " for c in more_cells(e, have)) if side == "gpu" else ""
        out.append(f"| {k[1]} | {e['density']:.3f} (sparsity {k[2]:.2f}) | {ms:.2f} | {dms:.2f} | "
                   f"{cms:.2f} | {vd:.2f} | {vc:.2f} | {mark(vc >= PUBLISHED[net])} | {extra}"
                   f"{int(e['layers'])} ({int(e['convs'])} convs) |")
    return out


def per_layer(side, rows, net):
    """Per distinct layer: ×dense of every layout (the layer view of the totals)."""
    keys = [k for k in rows if k[0] == net and rows[k]["layers"]]
    if not keys:
        return []
    layers = [b.get("run_name", b["name"]).split("/")[2] for b in rows[keys[0]]["layers"]]
    head = "| layer (R×K×N, repeat) | " + " | ".join(f"{k[1]}@{k[2]:.2f}" for k in keys) + " |"
    out = [head, "|---|" + "---|" * len(keys)]
    for i, name in enumerate(layers):
        b0 = rows[keys[0]]["layers"][i]
        cells = [f"{name} ({int(b0['R'])}×{int(b0['K'])}×{int(b0['N'])}, ×{int(b0['repeat'])})"]
        for k in keys:
            ls = rows[k]["layers"]
            cells.append(f"{ratios(ls[i], side)[0]:.2f}" if i < len(ls) else "–")
        out.append("| " + " | ".join(cells) + " |")
    return out


def latest(pattern):
    files = sorted(glob.glob(os.path.join(RESULTS, pattern)), key=os.path.getmtime)
    return files[-1] if files else None


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--slug":
        print(slug(sys.argv[2]))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--merge-gpu":
        merge_gpu(sys.argv[2])
        return
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    out = ["# bench/networks: the training step of whole networks, per layout",
           "",
           "Generated by `bench/networks/table.py` from the JSON beside this file. Step = forward "
           "+ dX + dW summed (× repeat) over each network's sparse conv layers: regular and "
           "pointwise convolutions, the stems included; the MobileNets' depthwise layers stay "
           "dense and are left out of every sum (they cost the same on every side). Ratios are "
           "peer time / stco time (above 1: stco faster), measured in one process. The peers run "
           "the im2col GEMM shapes and their im2col is not timed (conservative). CSR peers use "
           "the stco weight's own mask; their dW is the dense dY·Xᵀ read out through the mask "
           "(neither Eigen nor cuSPARSE fp16 has a sampled product). Published STCO speedups "
           "over sparse formats: 3.64× VGG16, 5.43× ResNet-18, 4.89× MobileNetV1, 3.91× "
           "MobileNetV2. How the runs were made and why each miss happens: NOTES.md.",
           ""]
    sides = [("cpu", latest("cpu-*.json")), ("gpu", latest("gpu-*.json"))]
    for side, path in sides:
        if path is None:
            out += [f"## {side.upper()}: not measured (no {side}-*.json)", ""]
            continue
        ctx, rows = parse(path, side)
        name = os.path.basename(path)
        if side == "cpu":
            out += [f"## CPU: {ctx.get('cpu_model', '?')} — `{name}`", "",
                    f"{ctx.get('input', '')}; {ctx.get('stco_threads', '?')} threads (stco), "
                    f"{ctx.get('eigen_threads', '?')} (Eigen {ctx.get('eigen_version', '?')}, "
                    f"OpenMP); load average before {ctx.get('load_before', '?')}, after "
                    f"{ctx.get('load_after', '?')}; {ctx.get('date', '')}. stco runs `conv2d` on "
                    "NHWC (implicit im2col) and `grad(...).wrt(X / W)`; dense peer: 3 Eigen GEMMs; "
                    "CSR peer: Eigen `SparseMatrix<float, RowMajor>`. Each layer: median of 3–15 "
                    "steps after a warm-up.", ""]
        else:
            out += [f"## GPU: {ctx.get('device', '?')} — `{name}`", "",
                    f"{ctx.get('input', '')}; {ctx.get('date', '')}. Forms: `conv` = stco "
                    "`conv2d` on NHWC (implicit im2col in the kernels, the form a user runs); "
                    "`gemm` = stco `matmul` on the im2col operand, im2col not timed, as for "
                    "the GEMM peers (the only form of the nm<2,4> sparse-tensor-core path). "
                    "Dense peers (bench/gpu/peers): cuBLAS = 3 GEMMs through cuBLASLt (fp16 in, "
                    "fp32 compute, best heuristic algorithm and operand order) and, where the "
                    "file has them, cuDNN on the convolution itself (NHWC, fastest plan of its "
                    "own search), each on the dense model's weight (dense-random: uniform, no "
                    "zeros) and on the pruned weight decoded (pruned-dense: zeros in place); "
                    "×dense is cuBLAS dense-random (older files: `cublasGemmEx` on a random "
                    "weight). cuSPARSELt: 2:4 forward, 2:4 dX where the mask is transposable, "
                    "cuBLAS dW, over the layers it accepts. CSR peer: cuSPARSE SpMM (S and Sᵀ) + "
                    "cuBLAS dY·Xᵀ read through the mask. Distinct layers measured once (median "
                    "of 3–20 CUDA-event-timed steps after warm-up) and multiplied by their "
                    "repeat count.", ""]
        out += ["### Targets", ""] + summary(side, rows) + [""]
        for net in NETS:
            if not any(k[0] == net for k in rows):
                out += [f"### {TITLE[net]}: not measured", ""]
                continue
            out += [f"### {TITLE[net]} (published ×sparse {PUBLISHED[net]:.2f})", ""]
            out += detail(side, rows, net) + [""]
            pl = per_layer(side, rows, net)
            if pl:
                out += ["<details><summary>per layer: step ×dense</summary>", ""] + pl + \
                       ["", "</details>", ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
