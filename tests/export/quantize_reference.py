"""PyTorch oracle for pgolf's int8 export: applies the baseline's rules (pgolf-spec section 3.7,
quantize_state_dict_int8 / dequantize_state_dict_int8 of train_gpt.py) with torch ops to every
tensor of an input safetensors file and writes what it got to an output safetensors file.

  quantize_reference.py IN.safetensors OUT.safetensors

For each input tensor NAME the output holds NAME.deq (the dequantized tensor) and either
NAME.stored (passthrough) or NAME.q (int8 values widened to I32, as pgolf has no int8 dtype) and
NAME.scale (F16 per row, or an F32 scalar) and NAME.clip (torch.quantile's clip values, F32, to
check the interpolation on its own); the metadata maps NAME to its scheme. Both files are
read and written by hand with json + struct, as the safetensors package may be absent.
"""
import json
import struct
import sys

import torch

DTYPES = {
    "F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "I64": torch.int64,
    "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}

CONTROL_PATTERNS = ("attn_scale", "attn_scales", "mlp_scale", "mlp_scales", "resid_mix", "resid_mixes",
                    "q_gain", "skip_weight", "skip_weights")
KEEP_FLOAT_MAX_NUMEL = 65_536
CLIP_Q = 99.99984 / 100.0


def read_safetensors(path, with_metadata=False):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    data = blob[8 + n :]
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        if end == begin:
            t = torch.empty(info["shape"], dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(info["shape"])
        out[name] = t
    return (out, metadata) if with_metadata else out


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata):
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        raw = tensor_bytes(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def quantize(name, t):
    """Returns (scheme, parts, dequantized) for one state-dict tensor."""
    if not t.is_floating_point():
        return "passthrough", {"stored": t}, t
    if t.numel() <= KEEP_FLOAT_MAX_NUMEL:
        if any(p in name for p in CONTROL_PATTERNS):
            kept = t.float()
            return "passthrough", {"stored": kept}, kept
        if t.dtype in (torch.float32, torch.bfloat16):
            kept = t.to(torch.float16)
            return "passthrough", {"stored": kept}, kept.to(t.dtype)
        return "passthrough", {"stored": t}, t
    w = t.float()
    if w.ndim == 2:
        clip = torch.quantile(w.abs(), CLIP_Q, dim=1)
        clipped = torch.maximum(torch.minimum(w, clip[:, None]), -clip[:, None])
        scale = (clip / 127.0).clamp_min(1.0 / 127.0)
        q = torch.clamp(torch.round(clipped / scale[:, None]), -127, 127).to(torch.int8)
        scale16 = scale.to(torch.float16)
        deq = (q.float() * scale16.float()[:, None]).to(t.dtype)
        return "int8_per_row", {"q": q.to(torch.int32), "scale": scale16, "clip": clip}, deq
    clip = float(torch.quantile(w.abs().flatten(), CLIP_Q).item())
    scale = torch.tensor(clip / 127.0 if clip > 0 else 1.0, dtype=torch.float32)
    q = torch.clamp(torch.round(torch.clamp(w, -clip, clip) / scale), -127, 127).to(torch.int8)
    deq = (q.float() * float(scale.item())).to(t.dtype)
    parts = {"q": q.to(torch.int32), "scale": scale, "clip": torch.tensor(clip, dtype=torch.float32)}
    return "int8_per_tensor", parts, deq


def main(src, dst):
    out, schemes = {}, {}
    for name, t in read_safetensors(src).items():
        scheme, parts, deq = quantize(name, t)
        schemes[name] = scheme
        for part, value in parts.items():
            out[name + "." + part] = value
        out[name + ".deq"] = deq
    write_safetensors(dst, out, schemes)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
