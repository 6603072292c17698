#!/usr/bin/python3
"""Parity oracle run by tests/frontend/test_torch_parity.cpp (Debian's python3-torch, CPU, fp32).

  run_parity.py grads  CONFIG.json IN.safetensors OUT.safetensors
      IN holds the model weights and the batch ("batch.ids", "batch.targets"); OUT gets "loss" and
      "grad.<name>" for every parameter.
  run_parity.py update CONFIG.json IN.safetensors OUT.safetensors
      one baseline optimizer step (Muon on block matrices with Newton-Schulz in CONFIG's ns_dtype,
      Adam on the rest) from the weights in IN; OUT gets every updated parameter.
"""
import json
import struct
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from baseline_gpt import GPT, muon_step, param_groups  # noqa: E402

DTYPES = {"F32": torch.float32, "I64": torch.int64, "I32": torch.int32, "BF16": torch.bfloat16}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = bytearray(data[8 + n + b: 8 + n + end])
        out[name] = torch.frombuffer(raw, dtype=DTYPES[e["dtype"]]).reshape(e["shape"]).clone()
    return out


def save(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    mode, cfg_path, in_path, out_path = sys.argv[1:5]
    cfg = json.load(open(cfg_path))
    torch.manual_seed(0)
    model = GPT(cfg["vocab"], cfg["layers"], cfg["dim"], cfg["heads"], cfg["kv_heads"], cfg["mlp_mult"])
    tensors = load(in_path)
    missing = model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("batch.")}, strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys, missing
    ids, targets = tensors["batch.ids"].long(), tensors["batch.targets"].long()
    loss = model(ids, targets)
    loss.backward()
    if mode == "grads":
        out = {"loss": loss.detach().reshape(1)}
        out.update({"grad." + n: p.grad for n, p in model.named_parameters()})
        save(out_path, out)
        return
    matrix, scalar, embed = param_groups(model)
    with torch.no_grad():
        ns_dtype = torch.bfloat16 if cfg["ns_dtype"] == "bf16" else torch.float32
        muon_step([p for _, p in matrix], [p.grad for _, p in matrix], [torch.zeros_like(p) for _, p in matrix],
                  cfg["matrix_lr"], cfg["muon_momentum"], cfg["ns_steps"], ns_dtype)
    for group, lr in ((scalar, cfg["scalar_lr"]), (embed, cfg["embed_lr"])):
        opt = torch.optim.Adam([p for _, p in group], lr=lr, betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"])
        opt.step()
    save(out_path, {n: p for n, p in model.named_parameters()})


if __name__ == "__main__":
    main()
