#!/usr/bin/python3
"""Reference of the pre-quantisation AdamW test-time training of the PR #1376 -> #1423 -> #1539
lineage (method ttt_pre_eval, non-record), run by tests/eval/test_ttt_pre_eval.cpp (Debian's
python3-torch, CPU, fp32). Written from the records' description:

  prequant_ttt.py CONFIG.json IN.safetensors OUT.safetensors

IN holds the baseline model's weights and "stream". CONFIG: the model, "seq_len", "epochs", "lr",
"min_lr", "freeze_blocks", "batch_seqs", "eps". The first `freeze_blocks` blocks are frozen; every
other weight is trained by torch.optim.AdamW(lr, eps, weight_decay=0) with
CosineAnnealingLR(T_max = steps, eta_min = min_lr) stepped after every step, for `epochs` passes
over the sequences starting at 0, S, 2S, ... (start < len(stream) - 1 - S), `batch_seqs` of them
per step (a partial last group left out), on the mean loss of the step's tokens. OUT gets the
trained weights under their names.
"""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from run_parity import load_case, save  # noqa: E402


def main():
    cfg, tensors, stream, model = load_case(sys.argv)
    for i, block in enumerate(model.blocks):
        for p in block.parameters():
            p.requires_grad_(i >= cfg["freeze_blocks"])
    S, B = cfg["seq_len"], cfg["batch_seqs"]
    starts = list(range(0, len(stream) - 1 - S, S))
    groups = [starts[i:i + B] for i in range(0, len(starts) - B + 1, B)]
    steps = cfg["epochs"] * len(groups)
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=cfg["lr"], eps=cfg["eps"], weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=cfg["min_lr"])
    for _ in range(cfg["epochs"]):
        for group in groups:
            ids = torch.stack([stream[s:s + S] for s in group])
            targets = torch.stack([stream[s + 1:s + S + 1] for s in group])
            opt.zero_grad()
            model(ids, targets).backward()
            opt.step()
            sched.step()
    save(sys.argv[3], {k: v.detach().contiguous() for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main()
