#!/usr/bin/env python3
"""Cross-checks the peer timings of the GPU benchmarks against PyTorch on the same machine.

Each benchmark writes its peer timings with --peers_out=FILE (bench/gpu/peers/peer_log.hpp):
which peer, which operation, which shape, which data (dense-random, pruned-dense, pruned) and
the median it measured. For every distinct timing this script runs the same operation on the
same shape and data kind with PyTorch, timed the same way (timer.hpp: CUDA events around each
call, stream synchronized after each, warm-up >= 3 calls and >= 25 ms, median of 5-50 calls
filling ~300 ms, inputs rotated over the same number of sets), and says whether the two agree
within the tolerance (5 %):

  cuBLAS      torch.matmul (fp16 / bf16 with fp32 accumulation and no reduced-precision split-k,
              fp32 without TF32): Y = W @ X, dX = W.t() @ dY, dW = dY @ X.t() (transposed views:
              the same memory the benchmark used);
  cuSPARSELt  torch._cslt_compress + torch._cslt_sparse_mm with the algorithm from
              torch._cslt_sparse_mm_search (forward on W, dX on W.t() compressed); the user-level
              torch.sparse.to_sparse_semi_structured forward is timed beside it, for information;
  cuDNN       torch.nn.functional.conv2d (forward) and torch.ops.aten.convolution_backward with
              one output each (backward-data, backward-filter), channels_last fp16,
              torch.backends.cudnn.benchmark = True;
  cuSPARSE    CSR forward: W.to_sparse_csr() @ X (other CSR timings are not checked).

Steps (fwd + dx + dw in one timed call) are timed as the same three PyTorch calls.
Weights are made like the benchmark's: dense-random uniform in [-1, 1); pruned weights with the
record's pattern (2:4 by magnitude, transposable 2:4, tile-wise / block / channel masks at the
record's density), values uniform; activations uniform in [-1, 1).

    python3 bench/gpu/peers/torch_check.py OUT/*.peers.json --out-json OUT/torch_check.json \\
        --out-md OUT/torch_check.md [--strict] [--tolerance 0.05] [--time-budget 120]

Exit status: 0 (a disagreement is reported, not fatal) unless --strict, then 1 when any checked
timing disagrees; 2 when no input could be read. --dry-run reads and tabulates without timing
(no PyTorch needed).
"""

import argparse
import json
import math
import os
import re
import sys
import time

TOL = 0.05


# ---------------------------------------------------------------------------------- inputs ---

def load_logs(paths):
    """-> (contexts by bench, records). Unreadable files are reported and skipped."""
    contexts, records = {}, []
    for p in paths:
        try:
            with open(p) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            print(f"torch_check: cannot read {p}: {e}", file=sys.stderr)
            continue
        bench = d.get("bench", os.path.basename(p))
        contexts[bench] = d.get("context", {})
        for r in d.get("records", []):
            r["bench"] = bench
            records.append(r)
    return contexts, records


def conv_tuple(r):
    c = r.get("conv") or {}
    return tuple(c.get(k, 0) for k in ("n", "h", "w", "c", "k", "r", "s", "stride", "pad", "dil",
                                       "groups"))


def key_of(r):
    """What PyTorch has to time for record r (records with equal keys share one timing)."""
    pattern = "" if r["data"] == "dense-random" else r.get("pattern", "")
    return (r["peer"], r["op"], r["kind"], r["data"], pattern, round(r.get("density", 1), 4),
            r["dtype"], r["M"], r["K"], r["N"], conv_tuple(r) if r["kind"] == "conv" else (),
            r.get("sets", 1), r.get("parts", ""))


def shape_key(r):
    """The inputs a record needs (records with equal shape keys share their input tensors)."""
    return (r["kind"], r["M"], r["K"], r["N"], conv_tuple(r), r["dtype"], r.get("sets", 1))


def shape_text(r):
    if r["kind"] == "conv":
        c = r["conv"]
        return (f"conv n{c['n']} {c['h']}x{c['w']}x{c['c']}->{c['k']} {c['r']}x{c['s']}"
                f"/{c['stride']} p{c['pad']}")
    return f"{r['M']}x{r['K']}x{r['N']}"


# ----------------------------------------------------------------------------------- timing ---

class Timer:
    """timer.hpp's median_ms, in PyTorch."""

    def __init__(self, torch, min_reps=5, max_reps=50, budget_ms=300.0, warmup=3, warmup_ms=25.0):
        self.torch = torch
        self.min_reps, self.max_reps, self.budget_ms = min_reps, max_reps, budget_ms
        self.warmup, self.warmup_ms = warmup, warmup_ms
        self.nvml = None
        try:
            import pynvml  # nvidia-ml-py
            pynvml.nvmlInit()
            # NVML numbers devices as CUDA does where CUDA_VISIBLE_DEVICES is unset (one card).
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
            self.nvml = pynvml
        except Exception:  # no NVML: timings without the clock note
            self.nvml = None

    def clock(self):
        if not self.nvml:
            return ""
        n, h = self.nvml, self.handle
        try:
            sm = n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_SM)
            smax = n.nvmlDeviceGetMaxClockInfo(h, n.NVML_CLOCK_SM)
            pw = n.nvmlDeviceGetPowerUsage(h) / 1000.0
            lim = n.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0
            try:
                reasons = n.nvmlDeviceGetCurrentClocksEventReasons(h)
            except Exception:
                reasons = n.nvmlDeviceGetCurrentClocksThrottleReasons(h)
            s = f"{sm}/{smax} MHz, {pw:.0f}/{lim:.0f} W"
            if reasons & 0x4:
                s += ", power cap"
            if reasons & 0x60:
                s += ", thermal slowdown"
            return s
        except Exception:
            return ""

    def median_ms(self, run):
        torch = self.torch
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        call = 0
        a.record()
        run(call)
        call += 1
        b.record()
        b.synchronize()
        first = max(a.elapsed_time(b), 1e-3)
        more = 0 if first > self.budget_ms / 10 else \
            min(max(math.ceil(self.warmup_ms / first), self.warmup), 400) - 1
        for _ in range(more):
            run(call)
            call += 1
        reps = min(max(int(self.budget_ms / first), self.min_reps), self.max_reps)
        t, clk = [], ""
        for i in range(reps):
            a.record()
            run(call)
            call += 1
            b.record()
            if i == reps // 2:
                clk = self.clock()
            b.synchronize()
            t.append(a.elapsed_time(b))
        t.sort()
        return t[reps // 2], clk


# ---------------------------------------------------------------------------------- weights ---

def transposable_patterns(torch, device):
    """The 90 4x4 0/1 blocks with two ones in every row and every column."""
    import itertools
    rows = [r for r in itertools.product((0, 1), repeat=4) if sum(r) == 2]
    out = []
    for block in itertools.product(rows, repeat=4):
        if all(sum(block[i][j] for i in range(4)) == 2 for j in range(4)):
            out.append(block)
    return torch.tensor(out, dtype=torch.bool, device=device)  # [90, 4, 4]


def make_weight(torch, M, K, data, pattern, density, dtype, gen):
    """W [M, K] for the record's data kind: uniform in [-1, 1), masked for pruned kinds."""
    dev = "cuda"
    w = torch.rand((M, K), device=dev, generator=gen, dtype=torch.float32) * 2 - 1
    if data == "dense-random":
        return w.to(dtype)
    name = re.sub(r"@\d+$", "", pattern or "")
    mask = None
    m = re.fullmatch(r"nm<(\d+),(\d+)>(T?)", name)
    if m and m.group(3) == "T" and M % 4 == 0 and K % 4 == 0:
        pats = transposable_patterns(torch, dev)
        idx = torch.randint(0, pats.shape[0], (M // 4, K // 4), device=dev, generator=gen)
        mask = pats[idx].permute(0, 2, 1, 3).reshape(M, K)
    elif m:
        n, g = int(m.group(1)), int(m.group(2))
        kp = (K + g - 1) // g * g
        a = torch.zeros((M, kp), device=dev)
        a[:, :K] = w.abs()
        top = a.view(M, kp // g, g).topk(n, dim=2).indices
        mk = torch.zeros((M, kp // g, g), dtype=torch.bool, device=dev)
        mk.scatter_(2, top, True)
        mask = mk.view(M, kp)[:, :K]
    elif re.fullmatch(r"tile_wise<(\d+)>", name) or re.fullmatch(r"tile_vector<(\d+),(\d+),(\d+)>",
                                                                  name):
        t = int(re.search(r"<(\d+)", name).group(1))
        tv = re.fullmatch(r"tile_vector<(\d+),(\d+),(\d+)>", name)
        frac = density * (int(tv.group(3)) / int(tv.group(2)) if tv else 1.0)
        keep = max(1, min(K, round(frac * K)))
        mask = torch.zeros((M, K), dtype=torch.bool, device=dev)
        for r0 in range(0, M, t):
            cols = torch.randperm(K, device=dev, generator=gen)[:keep]
            mask[r0:r0 + t, cols] = True
        if tv:  # N:M among each row's kept columns, by magnitude
            n, g = int(tv.group(2)), int(tv.group(3))
            sel = torch.where(mask, w.abs(), torch.zeros_like(w))
            kp = (K + g - 1) // g * g
            a = torch.zeros((M, kp), device=dev)
            a[:, :K] = sel
            top = a.view(M, kp // g, g).topk(n, dim=2).indices
            mk = torch.zeros((M, kp // g, g), dtype=torch.bool, device=dev)
            mk.scatter_(2, top, True)
            mask &= mk.view(M, kp)[:, :K]
    elif re.fullmatch(r"block<(\d+),(\d+)>", name):
        br, bc = map(int, re.findall(r"\d+", name))
        rb, kb = (M + br - 1) // br, (K + bc - 1) // bc
        keep = torch.rand((rb, kb), device=dev, generator=gen) < density
        mask = keep.repeat_interleave(br, 0).repeat_interleave(bc, 1)[:M, :K]
    elif name == "channel":
        rows = torch.randperm(M, device=dev, generator=gen)[:max(1, round(density * M))]
        mask = torch.zeros((M, K), dtype=torch.bool, device=dev)
        mask[rows] = True
    elif name == "dense":
        mask = None
    else:  # unstructured (csr) or unknown: the same density, element by element
        mask = torch.rand((M, K), device=dev, generator=gen) < density
    if mask is not None:
        w = torch.where(mask, w, torch.zeros_like(w))
    return w.to(dtype)


# ------------------------------------------------------------------------------ operations ---

DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}


class Checker:
    def __init__(self, torch, timer):
        self.torch, self.timer = torch, timer
        self.gen = torch.Generator(device="cuda")
        self.gen.manual_seed(1234)
        self.act_key, self.acts = None, None
        self.w_cache = {}
        self.user_api = {}  # key -> ms of to_sparse_semi_structured, for information

    def uniform(self, shape, dtype):
        return (self.torch.rand(shape, device="cuda", generator=self.gen) * 2 - 1).to(dtype)

    def activations(self, r, dtype):
        """Rotating input sets (and outputs) for r's shape, kept while the shape repeats."""
        torch = self.torch
        key = shape_key(r)
        if key == self.act_key:
            return self.acts
        self.acts, self.w_cache, self.act_key = None, {}, None
        torch.cuda.empty_cache()
        sets = max(1, int(r.get("sets", 1)))
        M, K, N = r["M"], r["K"], r["N"]
        a = {}
        if r["kind"] == "conv":
            c = r["conv"]
            p = (c["h"] + 2 * c["pad"] - c["dil"] * (c["r"] - 1) - 1) // c["stride"] + 1
            q = (c["w"] + 2 * c["pad"] - c["dil"] * (c["s"] - 1) - 1) // c["stride"] + 1
            # NHWC memory, NCHW logical (channels_last), as cuDNN's tensors in the benchmark.
            a["x"] = [self.uniform((c["n"], c["h"], c["w"], c["c"]), dtype).permute(0, 3, 1, 2)
                      for _ in range(sets)]
            a["dy"] = [self.uniform((c["n"], p, q, c["k"]), dtype).permute(0, 3, 1, 2)
                       for _ in range(sets)]
        else:
            a["x"] = [self.uniform((K, N), dtype) for _ in range(sets)]
            a["dy"] = [self.uniform((M, N), dtype) for _ in range(sets)]
            a["y"] = torch.empty((M, N), device="cuda", dtype=dtype)
            a["dx"] = torch.empty((K, N), device="cuda", dtype=dtype)
            a["dw"] = torch.empty((M, K), device="cuda", dtype=dtype)
        a["sets"] = sets
        self.acts, self.act_key = a, key
        return a

    def weight(self, r, dtype, data=None):
        data = data or r["data"]
        if data == "pruned":
            data = "pruned-dense"  # the same weight, run sparse
        elif data == "activations":
            data = "dense-random"  # dW reads no weight: any will do
        key = (data, "" if data == "dense-random" else r.get("pattern", ""),
               round(r.get("density", 1), 4))
        if key not in self.w_cache:
            self.w_cache[key] = make_weight(self.torch, r["M"], r["K"], data, r.get("pattern", ""),
                                            r.get("density", 1), dtype, self.gen)
        return self.w_cache[key]

    def conv_weight(self, r, w2d):
        """[k, r*s*c/g] in (kh, kw, c) order -> [k, c/g, r, s] with channels_last strides."""
        c = r["conv"]
        cg = c["c"] // c["groups"]
        return w2d.reshape(c["k"], c["r"], c["s"], cg).permute(0, 3, 1, 2)

    # Each returns (callable(i), how) or raises NotImplementedError with the reason.
    def gemm_parts(self, r, dtype):
        torch = self.torch
        a = self.activations(r, dtype)
        W = self.weight(r, dtype)
        s = a["sets"]
        ops = {
            "fwd": lambda i: torch.matmul(W, a["x"][i % s], out=a["y"]),
            "dx": lambda i: torch.matmul(W.t(), a["dy"][i % s], out=a["dx"]),
            "dw": lambda i: torch.matmul(a["dy"][i % s], a["x"][i % s].t(), out=a["dw"]),
        }
        return ops, "torch.matmul (W, W.t(), X.t() views)"

    def cslt_parts(self, r, dtype):
        torch = self.torch
        if not hasattr(torch, "_cslt_compress"):
            raise NotImplementedError("this PyTorch has no torch._cslt_compress")
        a = self.activations(r, dtype)
        W = self.weight(r, dtype, "pruned-dense")
        s = a["sets"]

        def prepared(S, B):
            comp = torch._cslt_compress(S)
            alg = 0
            if hasattr(torch, "_cslt_sparse_mm_search"):
                try:
                    alg = int(torch._cslt_sparse_mm_search(comp, B))
                except Exception:
                    alg = 0
            return comp, alg

        cw, alg_w = prepared(W, a["x"][0])
        parts = {"fwd": lambda i: torch._cslt_sparse_mm(cw, a["x"][i % s], alg_id=alg_w)}
        how = f"torch._cslt_sparse_mm (alg {alg_w} from _cslt_sparse_mm_search)"
        if "nm<2,4>T" in r.get("pattern", "") or r["op"] == "dx":
            try:
                cwt, alg_t = prepared(W.t().contiguous(), a["dy"][0])
                parts["dx"] = lambda i: torch._cslt_sparse_mm(cwt, a["dy"][i % s], alg_id=alg_t)
            except Exception as e:
                if r["op"] == "dx":
                    raise NotImplementedError(f"cuSPARSELt refused W.t(): {e}")
        # The user-level API, timed once per shape for information.
        k = ("user", r["M"], r["K"], r["N"], r.get("pattern", ""))
        if r["op"] == "fwd" and k not in self.user_api:
            try:
                from torch.sparse import to_sparse_semi_structured
                ws = to_sparse_semi_structured(W)
                torch.mm(ws, a["x"][0])
                torch.cuda.synchronize()
                self.user_api[k], _ = self.timer.median_ms(lambda i: torch.mm(ws, a["x"][i % s]))
            except Exception as e:
                self.user_api[k] = f"failed: {type(e).__name__}"
        return parts, how

    def conv_parts(self, r, dtype):
        torch = self.torch
        F = torch.nn.functional
        a = self.activations(r, dtype)
        c = r["conv"]
        W = self.conv_weight(r, self.weight(r, dtype))
        s = a["sets"]
        st, pd, dl, g = [c["stride"]] * 2, [c["pad"]] * 2, [c["dil"]] * 2, c["groups"]
        cb = torch.ops.aten.convolution_backward
        ops = {
            "fwd": lambda i: F.conv2d(a["x"][i % s], W, None, st, pd, dl, g),
            "dx": lambda i: cb(a["dy"][i % s], a["x"][i % s], W, None, st, pd, dl, False, [0, 0],
                               g, [True, False, False]),
            "dw": lambda i: cb(a["dy"][i % s], a["x"][i % s], W, None, st, pd, dl, False, [0, 0],
                               g, [False, True, False]),
        }
        return ops, ("F.conv2d / aten.convolution_backward (one output each), channels_last, "
                     "cudnn.benchmark")

    def csr_parts(self, r, dtype):
        if r["op"] != "fwd":
            raise NotImplementedError("only the CSR forward is checked")
        a = self.activations(r, dtype)
        Wc = self.weight(r, dtype, "pruned-dense").to_sparse_csr()
        s = a["sets"]
        return {"fwd": lambda i: Wc @ a["x"][i % s]}, "W.to_sparse_csr() @ X"

    def run(self, r):
        """-> (torch ms, how, clock note) for record r."""
        torch = self.torch
        dtype = getattr(torch, DTYPES[r["dtype"]])
        peer = r["peer"]
        if peer == "cublas":
            ops, how = self.gemm_parts(r, dtype)
            table = {"cublas": ops}
        elif peer == "cudnn":
            ops, how = self.conv_parts(r, dtype)
            table = {"cudnn": ops}
        elif peer == "cusparselt":
            lt, how = self.cslt_parts(r, dtype)
            blas, _ = self.gemm_parts(dict(r, data="pruned-dense"), dtype)
            table = {"cusparselt": lt, "cublas": blas}
        elif peer == "cusparse_csr":
            ops, how = self.csr_parts(r, dtype)
            table = {"cusparse_csr": ops}
        else:
            raise NotImplementedError(f"unknown peer {peer}")
        if r["op"] == "step":
            parts = (r.get("parts") or ",".join([peer] * 3)).split(",")
            fns = []
            for op, p in zip(("fwd", "dx", "dw"), parts):
                if p not in table or op not in table[p]:
                    raise NotImplementedError(f"no PyTorch {p} {op}")
                fns.append(table[p][op])
            fn = lambda i: [f(i) for f in fns]  # noqa: E731
            how += f" (step: {'+'.join(parts)})"
        else:
            if r["op"] not in table[peer]:
                raise NotImplementedError(f"no PyTorch {peer} {r['op']}")
            fn = table[peer][r["op"]]
        # One call outside the timing, as the benchmark tunes before it times: cudnn.benchmark's
        # search, cuBLAS workspaces and the like stay out of the warm-up's sizing.
        fn(0)
        torch.cuda.synchronize()
        ms, clk = self.timer.median_ms(fn)
        return ms, how, clk


# ---------------------------------------------------------------------------------- reports ---

def versions(torch):
    v = {"torch": torch.__version__, "cuda": torch.version.cuda,
         "cudnn": str(torch.backends.cudnn.version()),
         "device": torch.cuda.get_device_name(0)}
    try:
        v["cusparselt"] = str(torch.backends.cusparselt.version())
    except Exception:
        v["cusparselt"] = "unknown"
    return v


def write_md(path, results, summary, meta, contexts, tol):
    lines = ["# Peer timings cross-checked against PyTorch", "",
             "Written by `bench/gpu/peers/torch_check.py`. Each peer timing of the benchmarks "
             "(their `--peers_out` logs) beside the same operation on the same shape and data "
             "timed with PyTorch on the same machine, right after the benchmarks, with the same "
             f"method; they agree when bench / PyTorch is within 1 ± {tol:.2f}.", ""]
    lines.append("PyTorch side: " + (", ".join(f"{k} {v}" for k, v in meta.items()) or "not run")
                 + ". fp32 accumulation (no TF32, no reduced-precision split-k reduction); "
                 "cudnn.benchmark on.")
    for b, ctx in contexts.items():
        keys = ("device", "cublaslt_version", "peer_cudnn", "peer_cusparselt", "clock_at_start")
        lines.append(f"`{b}`: " + "; ".join(f"{k}: {ctx[k]}" for k in keys if k in ctx) + ".")
    lines += ["", f"**{summary['checked']} timings checked: {summary['agree']} agree, "
                  f"{summary['disagree']} disagree; {summary['not_checked']} not checked.**", ""]
    if summary.get("note"):
        lines += [summary["note"], ""]
    head = ("| bench | row | peer | op | data | pattern | shape | bench ms | PyTorch ms | "
            "bench / PyTorch | agrees | bench clock | PyTorch clock |")
    sep = "|---" * 13 + "|"

    def row(x):
        t = "–" if x.get("torch_ms") is None else f"{x['torch_ms']:.4g}"
        ratio = "–" if x.get("ratio") is None else f"{x['ratio']:.3f}"
        ok = {True: "✅", False: "❌"}.get(x.get("agree"), x.get("status", ""))
        return (f"| {x['bench']} | {x['row']} | {x['peer']} | {x['op']} | {x['data']} | "
                f"{x.get('pattern', '')} | {x['shape']} | {x['ms']:.4g} | {t} | {ratio} | {ok} | "
                f"{x.get('clock', '')} | {x.get('torch_clock', '')} |")

    bad = [x for x in results if x.get("agree") is False]
    if bad:
        lines += ["## Disagreements", "", head, sep] + [row(x) for x in bad] + [""]
    lines += ["## All peer timings", "", head, sep] + [row(x) for x in results] + [""]
    users = [x for x in results if x.get("user_api_ms") is not None]
    if users:
        lines += ["## cuSPARSELt as a user calls it", "",
                  "`torch.sparse.to_sparse_semi_structured(W)` then `torch.mm` (forward), for "
                  "information (not compared):", "",
                  "| shape | pattern | bench cuSPARSELt ms | user API ms |", "|---|---|---|---|"]
        lines += [f"| {x['shape']} | {x.get('pattern', '')} | {x['ms']:.4g} | {x['user_api_ms']} |"
                  for x in users]
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logs", nargs="+", help="peer logs written by the benchmarks (--peers_out)")
    ap.add_argument("--out-json", default="torch_check.json")
    ap.add_argument("--out-md", default="torch_check.md")
    ap.add_argument("--tolerance", type=float, default=TOL)
    ap.add_argument("--strict", action="store_true", help="exit 1 when a timing disagrees")
    ap.add_argument("--time-budget", type=float, default=0,
                    help="seconds for the PyTorch timings; the rest is marked not checked (0: all)")
    ap.add_argument("--dry-run", action="store_true", help="read and tabulate only, no PyTorch")
    args = ap.parse_args()

    contexts, records = load_logs(args.logs)
    if not records:
        print("torch_check: no peer timings read", file=sys.stderr)
        write_md(args.out_md, [], {"checked": 0, "agree": 0, "disagree": 0, "not_checked": 0,
                                   "note": "No peer log could be read: nothing was checked."},
                 {}, contexts, args.tolerance)
        return 2

    keys, first = {}, {}
    for n, r in enumerate(records):
        keys.setdefault(key_of(r), []).append(r)
        first.setdefault(shape_key(r), n)
    # Benchmarks' order (a time budget cuts the last ones), one shape after another so that each
    # shape's inputs are made once.
    order = sorted(keys, key=lambda k: (first[shape_key(keys[k][0])], k[0], k[1], k[3]))
    meta, measured, note, checker = {}, {}, "", None
    if not args.dry_run:
        try:
            import torch
            if not torch.cuda.is_available():
                raise RuntimeError("torch.cuda.is_available() is False")
            torch.backends.cudnn.benchmark = True
            # fp32 accumulation throughout, as the benchmarks' peers: no TF32 for fp32 GEMMs, no
            # split-k reduction in fp16 / bf16.
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
            torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
            meta = versions(torch)
            checker = Checker(torch, Timer(torch))
        except Exception as e:
            note = f"PyTorch unavailable ({type(e).__name__}: {e}): nothing was timed."
            print("torch_check:", note, file=sys.stderr)
            checker = None
        start = time.time()
        for n, k in enumerate(order):
            if checker is None:
                break
            if args.time_budget and time.time() - start > args.time_budget:
                note = (f"Time budget of {args.time_budget:.0f} s spent after {n} of {len(order)} "
                        "distinct timings; the rest are marked not checked.")
                break
            r = keys[k][0]
            try:
                measured[k] = checker.run(r)
            except NotImplementedError as e:
                measured[k] = (None, str(e), "")
            except Exception as e:  # one failing operation must not stop the others
                measured[k] = (None, f"failed: {type(e).__name__}: {str(e)[:160]}", "")
                try:
                    torch.cuda.synchronize()
                except Exception:
                    pass
            finally:
                if checker is not None and len(measured) % 25 == 0:
                    print(f"torch_check: {len(measured)}/{len(order)} timed", file=sys.stderr)
    else:
        note = "Dry run: nothing was timed."

    results, agree, disagree, unchecked = [], 0, 0, 0
    for r in records:
        k = key_of(r)
        x = {kk: r.get(kk) for kk in ("bench", "row", "peer", "op", "data", "pattern", "dtype",
                                      "M", "K", "N", "conv", "sets", "ms", "algo", "clock",
                                      "power_capped")}
        x["shape"] = shape_text(r)
        ms, how, clk = measured.get(k, (None, "not checked", ""))
        x["torch_how"], x["torch_clock"] = how, clk
        if ms:
            x["torch_ms"] = ms
            x["ratio"] = r["ms"] / ms
            x["agree"] = abs(x["ratio"] - 1) <= args.tolerance
            agree += x["agree"]
            disagree += not x["agree"]
        else:
            x["torch_ms"] = None
            x["status"] = how
            unchecked += 1
        if r["peer"] == "cusparselt" and r["op"] == "fwd" and checker is not None:
            u = checker.user_api.get(("user", r["M"], r["K"], r["N"], r.get("pattern", "")))
            if u is not None:
                x["user_api_ms"] = f"{u:.4g}" if isinstance(u, float) else u
        results.append(x)
    summary = {"checked": agree + disagree, "agree": agree, "disagree": disagree,
               "not_checked": unchecked, "distinct": len(order), "note": note,
               "tolerance": args.tolerance}
    with open(args.out_json, "w") as f:
        json.dump({"summary": summary, "pytorch": meta, "bench_contexts": contexts,
                   "timing": "CUDA events per call, warm-up >= 3 calls and >= 25 ms, median of "
                             "5-50 calls filling ~300 ms, inputs rotated over the record's sets",
                   "results": results}, f, indent=1)
    write_md(args.out_md, results, summary, meta, contexts, args.tolerance)
    print(f"torch_check: {summary['checked']} checked, {agree} agree, {disagree} disagree "
          f"(tolerance {args.tolerance:.0%}), {unchecked} not checked -> {args.out_md}")
    if note:
        print("torch_check:", note)
    return 1 if args.strict and disagree else 0


if __name__ == "__main__":
    sys.exit(main())
