#!/usr/bin/python3
"""Reference of SLOT as PR #1456 ran it (pgolf-spec 4.7), run by tests/eval/test_adapter_methods.cpp
(Debian's python3-torch, CPU, fp32). Written from the spec:

  slot.py CONFIG.json IN.safetensors OUT.safetensors

IN holds the baseline model's weights and "stream". CONFIG: the model, "seq_len", "rows",
"windows" ([start, length, score_begin] in stream order), "steps", "lr". For each batch of `rows`
windows: delta in R^d starts at zero; `steps` AdamW steps (torch defaults but lr: betas 0.9/0.999,
eps 1e-8, weight decay 0.01) on the mean loss over the batch's scored targets with logits
(h + delta) E^T (h: the head's normalised input); then the scored targets' losses with the final
delta. OUT gets "losses" [len(stream)].
"""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from lora_ttt import head_losses  # noqa: E402
from run_parity import load_case, save  # noqa: E402


def main():
    cfg, tensors, stream, model = load_case(sys.argv)
    for p in model.parameters():
        p.requires_grad_(False)
    S, rows, windows = cfg["seq_len"], cfg["rows"], cfg["windows"]
    losses = torch.full((len(stream),), float("nan"))
    for first in range(0, len(windows), rows):
        batch = windows[first:first + rows]
        ids = torch.zeros(len(batch), S, dtype=torch.long)
        targets = torch.zeros(len(batch), S, dtype=torch.long)
        mask = torch.zeros(len(batch), S, dtype=torch.bool)
        for r, (start, length, begin) in enumerate(batch):
            ids[r, :length] = stream[start:start + length]
            targets[r, :length] = stream[start + 1:start + length + 1]
            mask[r, begin:length] = True
        delta = torch.zeros(cfg["dim"], requires_grad=True)
        opt = torch.optim.AdamW([delta], lr=cfg["lr"])

        def scored():
            token = head_losses(model, ids, targets, lambda h: delta @ model.tok_emb.weight.t())
            return token.view(len(batch), S)[mask]

        for _ in range(cfg["steps"]):
            opt.zero_grad()
            scored().mean().backward()
            opt.step()
        final = scored().detach()
        at = 0
        for start, length, begin in batch:
            losses[start + begin + 1:start + length + 1] = final[at:at + length - begin]
            at += length - begin
    save(sys.argv[3], {"losses": losses})


if __name__ == "__main__":
    main()
