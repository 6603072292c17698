"""NumPy oracle for pgolf's GPTQ, written from pgolf-spec §4.5 (Frantar et al.):

  gptq_reference.py IN.safetensors OUT.safetensors

IN holds pairs NAME.w (F32 [rows, cols]) and NAME.h (F32 [cols, cols], XᵀX summed over the
calibration tokens; averaged here by the metadata entry NAME.rows), and the metadata entry NAME
with the format ("int6", "int4@search", "ternary"). Per matrix, in float64: dead columns
(H_jj = 0) get H_jj = 1 and W[:, j] = 0; H += 0.01 * mean(diag H) * I; columns permuted by
descending diag(H) (stable); U = the upper Cholesky factor of H^-1; row scales from the format's
clip rule on the original W (quant_formats_reference.py), stored fp16; then, per block of 128
columns and column j: q_j = clamp(round(w_j / s), -R, R), err = (w_j - q_j s) / U_jj, the
block's later columns -= err * U[j, j+1:], and after the block W[:, i2:] -= Err @ U[i1:i2, i2:];
codes un-permuted. OUT holds NAME.q (I32) and NAME.scale (F16).
"""
import sys

import numpy as np
import torch

from quant_formats_reference import parse, quantize_unit
from quantize_reference import read_safetensors, write_safetensors

BLOCK, DAMP = 128, 0.01


def gptq(w, h, fmt):
    bits, _, rule, k = parse(fmt)
    r = (1 << (bits - 1)) - 1
    scales = np.array([quantize_unit(row, bits, rule, k)[1] for row in w], dtype=np.float16)
    s = scales.astype(np.float64)
    w = w.astype(np.float64).copy()
    h = h.copy()
    n = w.shape[1]
    dead = np.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    h += DAMP * np.mean(np.diag(h)) * np.eye(n)
    perm = np.argsort(-np.diag(h), kind="stable")
    w, h = w[:, perm], h[np.ix_(perm, perm)]
    u = np.linalg.cholesky(np.linalg.inv(h)).T
    q = np.zeros_like(w)
    for i1 in range(0, n, BLOCK):
        i2 = min(i1 + BLOCK, n)
        err = np.zeros((w.shape[0], i2 - i1))
        for j in range(i1, i2):
            q[:, j] = np.clip(np.rint(w[:, j] / s), -r, r)
            e = (w[:, j] - q[:, j] * s) / u[j, j]
            err[:, j - i1] = e
            w[:, j + 1 : i2] -= np.outer(e, u[j, j + 1 : i2])
        w[:, i2:] -= err @ u[i1:i2, i2:]
    out = np.zeros_like(q)
    out[:, perm] = q
    return out.astype(np.int32), scales


def main(src, dst):
    tensors, meta = read_safetensors(src, with_metadata=True)
    out = {}
    for name in sorted(n[:-2] for n in tensors if n.endswith(".w")):
        h = tensors[name + ".h"].numpy().astype(np.float64) / float(meta[name + ".rows"])
        q, scales = gptq(tensors[name + ".w"].numpy(), h, meta[name])
        out[name + ".q"] = torch.from_numpy(q)
        out[name + ".scale"] = torch.from_numpy(scales)
    write_safetensors(dst, out, {})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
