#!/usr/bin/python3
"""Parity oracle run by tests/frontend/test_torch_parity.cpp (Debian's python3-torch, CPU, fp32).

  run_parity.py grads  CONFIG.json IN.safetensors OUT.safetensors
      IN holds the model weights and the batch ("batch.ids", "batch.targets"); OUT gets "loss" and
      "grad.<name>" for every parameter. With a "variant" object in CONFIG the model is
      variant_gpt.VariantGPT with those record options. With "autocast": true in CONFIG the forward pass runs
      under torch.autocast("cpu", bfloat16), the baseline's mixed precision.
  run_parity.py train CONFIG.json IN.safetensors OUT.safetensors
      CONFIG's "steps" training steps as the trainer runs them, from the weights in IN: each step
      accumulates the gradients of "micro_steps" micro-batches ("batch.s<step>.m<micro>.ids" /
      ".targets", loss / micro_steps), then Muon (Nesterov momentum, Newton-Schulz in CONFIG's
      ns_dtype) on the block matrices and Adam on the scalar and embedding groups, each at its own
      learning rate times the iteration warmdown multiplier, Muon's momentum warmed up linearly;
      both schedules computed here from train_gpt.py's definitions. OUT gets, after every step k,
      "s<k>.<name>" for every parameter and "s<k>.<name>.momentum_buffer" / ".exp_avg" /
      ".exp_avg_sq" for its optimizer state (pgolf's state names). A "recipe" object in CONFIG adds
      the records' optimizer options: muon_wd, adam_wd, embed_wd (decoupled, AdamW), muon_eq_r,
      ns_coefficients ("polar_express"), qat_bits (STE fake quantisation of the block linears in
      every forward pass) and ema_decay (then ".ema" after every step, from the initial weights).
"""
import json
import struct
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from baseline_gpt import GPT, POLAR_EXPRESS_NS, BASELINE_NS, muon_step, param_groups  # noqa: E402
import variant_gpt  # noqa: E402
from variant_gpt import VariantGPT  # noqa: E402

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


def load_case(argv):
    """A reference script's case: the config (argv[1], JSON), its tensors (argv[2]), their token
    stream and the GPT holding their weights."""
    from baseline_gpt import gpt_with_weights
    cfg = json.load(open(argv[1]))
    tensors = load(argv[2])
    return cfg, tensors, tensors["stream"].long(), gpt_with_weights(cfg, tensors)


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
    if "variant" in cfg:
        model = VariantGPT(cfg["vocab"], cfg["layers"], cfg["dim"], cfg["heads"], cfg["kv_heads"], cfg["variant"])
    else:
        model = GPT(cfg["vocab"], cfg["layers"], cfg["dim"], cfg["heads"], cfg["kv_heads"], cfg["mlp_mult"])
    tensors = load(in_path)
    missing = model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("batch.")}, strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys, missing
    if mode == "train":
        train(cfg, model, tensors, out_path)
        return
    ids, targets = tensors["batch.ids"].long(), tensors["batch.targets"].long()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.get("autocast", False)):
        loss = model(ids, targets)
    loss.backward()
    if mode == "grads":
        out = {"loss": loss.detach().reshape(1)}
        out.update({"grad." + n: p.grad for n, p in model.named_parameters()})
        save(out_path, out)
        return
    raise SystemExit(f"unknown mode {mode}")


def lr_multiplier(cfg, step):
    """train_gpt.py's iteration warmdown (no wallclock cap)."""
    start = max(cfg["iterations"] - cfg["warmdown_iters"], 0)
    if cfg["warmdown_iters"] > 0 and start <= step < cfg["iterations"]:
        return max((cfg["iterations"] - step) / cfg["warmdown_iters"], 0.0)
    return 1.0


def momentum(cfg, step):
    w = cfg["muon_momentum_warmup_steps"]
    frac = min(step / w, 1.0) if w > 0 else 1.0
    return (1 - frac) * cfg["muon_momentum_warmup_start"] + frac * cfg["muon_momentum"]


def train(cfg, model, tensors, out_path):
    matrix, scalar, embed = param_groups(model)
    ns_dtype = torch.bfloat16 if cfg["ns_dtype"] == "bf16" else torch.float32
    bufs = [torch.zeros_like(p) for _, p in matrix]
    r = cfg.get("recipe", {})
    adams = [(torch.optim.AdamW([p for _, p in group], lr=lr, betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"],
                                weight_decay=wd), lr)
             for group, lr, wd in ((scalar, cfg["scalar_lr"], r.get("adam_wd", 0.0)),
                                   (embed, cfg["embed_lr"], r.get("embed_wd", 0.0)))]
    coeffs = POLAR_EXPRESS_NS if r.get("ns_coefficients") == "polar_express" else BASELINE_NS
    variant_gpt.QAT_BITS = r.get("qat_bits", 0)
    ema = {n: p.detach().clone() for n, p in model.named_parameters()} if r.get("ema_decay") else None
    out = {}
    for step in range(cfg["steps"]):
        for p in model.parameters():
            p.grad = None
        for m in range(cfg["micro_steps"]):
            ids = tensors[f"batch.s{step}.m{m}.ids"].long()
            targets = tensors[f"batch.s{step}.m{m}.targets"].long()
            (model(ids, targets) / cfg["micro_steps"]).backward()
        mul = lr_multiplier(cfg, step)
        with torch.no_grad():
            muon_step([p for _, p in matrix], [p.grad for _, p in matrix], bufs, cfg["matrix_lr"] * mul,
                      momentum(cfg, step), cfg["ns_steps"], ns_dtype, wd=r.get("muon_wd", 0.0),
                      row_normalize=r.get("muon_eq_r", False), coeffs=coeffs)
        for opt, lr in adams:
            for group in opt.param_groups:
                group["lr"] = lr * mul
            opt.step()
        for (name, p), buf in zip(matrix, bufs):
            out[f"s{step}.{name}.momentum_buffer"] = buf
        for opt, _ in adams:
            names = {id(p): n for n, p in model.named_parameters()}
            for p, st in opt.state.items():
                out[f"s{step}.{names[id(p)]}.exp_avg"] = st["exp_avg"]
                out[f"s{step}.{names[id(p)]}.exp_avg_sq"] = st["exp_avg_sq"]
        out.update({f"s{step}.{n}": p for n, p in model.named_parameters()})
        if ema is not None:
            d = r["ema_decay"]
            with torch.no_grad():
                for n, p in model.named_parameters():
                    ema[n] = d * ema[n] + (1 - d) * p.float()
            out.update({f"s{step}.{n}.ema": e for n, e in ema.items()})
        out = {k: v.detach().clone() for k, v in out.items()}
    save(out_path, out)


if __name__ == "__main__":
    main()
