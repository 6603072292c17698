"""NumPy oracle for pgolf's quantization formats, written from pgolf-spec §3.7 and §4.5 and the
rules stated in frontend/export/quant_format.h (not from pgolf's C++):

  quant_formats_reference.py IN.safetensors OUT.safetensors

Every input tensor W [rows, cols] (F32) has its format in the input metadata under its name,
e.g. "int6/g64@search", "int5@sd12.85", "ternary". Units are rows, or groups of g consecutive
elements of a row. R = 2^(bits-1) - 1. Per unit:
  quantile (default): clip = torch.quantile(|w|, 0.9999984) (torch itself, linear interpolation),
      scale = max(clip / R, floor) in fp32, floor = fp32(1/127) for int8 and 2^-24 (the least fp16) below;
      q = clamp(round_half_even(clamp(w, -clip, clip) / scale), -R, R); stored fp16(scale).
  search: the quantile rule for each p of (0.999, 0.9995, 0.9999, 0.99999, 1.0); keep the first p
      with the least sum((w - q * fp16(scale))^2), summed in float64 left to right.
  sdK: s = fp32(K) * fp32(std) / fp32(R), std unbiased from float64 left-to-right sums;
      stored fp16(max(s, 2^-24)); q = clamp(round(w / fp16 scale), -R, R).
  ternary: as sdK with s = mean|w| (float64 left-to-right) and R = 1.
Outputs NAME.q (I32 codes), NAME.scale (F16, [rows] or [rows, cols/g]), NAME.deq (F32,
q * scale), and NAME.packed (U8): the codes packed as bit_pack.h's documented layout, q + R as
b-bit little-endian fields (ternary: base 3, five trits per byte, sum (t_i + 1) 3^i).
"""
import re
import sys

import numpy as np
import torch

from quantize_reference import read_safetensors, write_safetensors

CLIP_Q = 99.99984 / 100.0
SEARCH = (0.999, 0.9995, 0.9999, 0.99999, 1.0)
F32 = np.float32


def parse(fmt):
    m = re.fullmatch(r"(int(\d)|ternary)(?:/g(\d+))?(?:@(q|search|sd([0-9.]+)))?", fmt)
    bits = 2 if m.group(1) == "ternary" else int(m.group(2))
    rule = "absmean" if bits == 2 else ("sd" if m.group(5) else (m.group(4) or "q"))
    return bits, int(m.group(3) or 0), rule, F32(float(m.group(5))) if m.group(5) else None


def seq_sum(x):
    return np.cumsum(x.astype(np.float64))[-1] if x.size else 0.0


def quantile_rule(w, p, r):
    clip = F32(torch.quantile(torch.from_numpy(np.abs(w)), p).item())
    floor = F32(1.0 / 127.0) if r == 127 else F32(2.0 ** -24)
    scale = max(F32(clip / F32(r)), floor)
    q = np.clip(np.rint(np.maximum(np.minimum(w, clip), -clip) / scale), -r, r)
    return q, np.float16(scale)


def search_rule(w, r):
    best = None
    for p in SEARCH:
        q, s16 = quantile_rule(w, p, r)
        d = w.astype(np.float64) - q.astype(np.float64) * np.float64(s16)
        err = seq_sum(d * d)
        if best is None or err < best[0]:
            best = (err, q, s16)
    return best[1], best[2]


def scale_rule(w, s, r):
    s16 = np.float16(max(F32(s), F32(2.0 ** -24)))
    q = np.clip(np.rint(w / F32(s16)), -r, r)
    return q, s16


def quantize_unit(w, bits, rule, k):
    r = (1 << (bits - 1)) - 1
    if rule == "q":
        return quantile_rule(w, CLIP_Q, r)
    if rule == "search":
        return search_rule(w, r)
    if rule == "absmean":
        return scale_rule(w, F32(seq_sum(np.abs(w)) / w.size), r)
    n = w.size
    mean = seq_sum(w) / n
    dev = w.astype(np.float64) - mean
    std = F32(np.sqrt(seq_sum(dev * dev) / (n - 1)))
    return scale_rule(w, F32(k * std) / F32(r), r)


def pack(codes, bits):
    r = (1 << (bits - 1)) - 1
    if bits == 8:
        return codes.astype(np.int8).view(np.uint8)
    if bits == 2:
        t = np.concatenate([codes + 1, np.zeros((-codes.size) % 5, dtype=np.int64)]).reshape(-1, 5)
        return (t * 3 ** np.arange(5)).sum(axis=1).astype(np.uint8)
    u = (codes + r).astype(np.uint64)
    bitstream = ((u[:, None] >> np.arange(bits, dtype=np.uint64)) & 1).reshape(-1)
    bitstream = np.concatenate([bitstream, np.zeros((-bitstream.size) % 8, dtype=np.uint64)]).reshape(-1, 8)
    return (bitstream << np.arange(8, dtype=np.uint64)).sum(axis=1).astype(np.uint8)


def main(src, dst):
    tensors, meta = read_safetensors(src, with_metadata=True)
    out = {}
    for name, t in tensors.items():
        bits, group, rule, k = parse(meta[name])
        w = t.numpy().astype(F32)
        rows, cols = w.shape
        g = group or cols
        units = w.reshape(rows * (cols // g), g)
        q = np.zeros_like(units, dtype=np.int64)
        scales = np.zeros(units.shape[0], dtype=np.float16)
        for i in range(units.shape[0]):
            qi, si = quantize_unit(units[i], bits, rule, k)
            q[i], scales[i] = qi, si
        deq = (q.astype(F32) * scales.astype(F32)[:, None]).reshape(rows, cols)
        out[name + ".q"] = torch.from_numpy(q.reshape(rows, cols).astype(np.int32))
        shape = (rows,) if group == 0 else (rows, cols // g)
        out[name + ".scale"] = torch.from_numpy(scales.reshape(shape))
        out[name + ".deq"] = torch.from_numpy(deq)
        out[name + ".packed"] = torch.from_numpy(pack(q.reshape(-1), bits))
    write_safetensors(dst, out, {})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
