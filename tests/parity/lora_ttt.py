#!/usr/bin/python3
"""Reference of document-isolated LoRA test-time training (pgolf-spec 2.5 methods 1 and 3), run by
tests/eval/test_adapter_methods.cpp (Debian's python3-torch, CPU, fp32). Written from the spec, one
document at a time (no batching):

  lora_ttt.py CONFIG.json IN.safetensors OUT.safetensors

IN holds the baseline model's weights, "stream" (the validation tokens) and, for every document d
and adapter site W (a linear layer's weight, or "blocks.<i>.mlp": the MLP module, d -> d),
"a.<d>.<W>.lora_a.<...>" [in, rank]: the adapter's starting A (B starts at zero).
CONFIG: the model ("vocab", "layers", "dim", "heads", "kv_heads", "mlp_mult"), "docs" ([start,
end) stream spans), "chunk", "context", "scale", "lr", "beta1", "beta2", "eps", "wd". For each
document: its targets in chunks of `chunk`; for each chunk, the window of the last <= `context`
tokens of the document before the chunk's last target runs through the model with
y += scale * (x A) B on every adapted module (x its input; the tied head included); the chunk's targets
are scored, then, unless it is the document's last chunk, one Adam step (AdamW when wd > 0) on
the chunk's mean loss updates A and B. OUT gets "losses" [len(stream)]: each target's loss.
"""
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from baseline_gpt import rms_norm  # noqa: E402
from run_parity import load_case, save  # noqa: E402


def head_losses(model, ids, targets, head):
    """GPT.token_losses with the head's adapter: logits = h E^T + scale (h A) B."""
    x = rms_norm(model.tok_emb(ids))
    x0, skips = x, []
    for i in range(model.n_enc):
        x = model.blocks[i](x, x0)
        skips.append(x)
    for i in range(len(model.blocks) - model.n_enc):
        if skips:
            x = x + model.skip_weights[i] * skips.pop()
        x = model.blocks[model.n_enc + i](x, x0)
    h = rms_norm(x).reshape(-1, x.shape[-1])
    logits = h @ model.tok_emb.weight.t()
    if head is not None:
        logits = logits + head(h)
    logits = model.softcap * torch.tanh(logits / model.softcap)
    return F.cross_entropy(logits.float(), targets.reshape(-1), reduction="none")


def main():
    cfg, tensors, stream, model = load_case(sys.argv)
    for p in model.parameters():
        p.requires_grad_(False)
    modules = dict(model.named_modules())
    losses = torch.full((len(stream),), float("nan"))
    for d, (start, end) in enumerate(cfg["docs"]):
        prefix = f"a.{d}."
        a = {k[len(prefix):]: v.clone().requires_grad_(True) for k, v in tensors.items() if k.startswith(prefix)}
        site = {k: k.split(".lora_a.")[0] for k in a}  # a weight [out, in], or "blocks.<i>.mlp" (d -> d)
        b = {k: torch.zeros(v.shape[1], tensors[site[k]].shape[0] if site[k] in tensors else v.shape[0],
                            requires_grad=True) for k, v in a.items()}
        scale = cfg["scale"]

        def adapter(name):
            return lambda x: scale * (x @ a[name]) @ b[name]

        hooks = []
        for name in a:
            mod = site[name].removesuffix(".weight")  # a linear layer, or the MLP module itself
            if mod in modules and site[name] != "tok_emb.weight":
                hooks.append(modules[mod].register_forward_hook(
                    lambda m, inp, out, f=adapter(name): out + f(inp[0])))
        head = next((adapter(n) for n in a if site[n] == "tok_emb.weight"), None)
        a_b = [t for n in a for t in (a[n], b[n])]
        if cfg["wd"] > 0:
            opt = torch.optim.AdamW(a_b, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"],
                                    weight_decay=cfg["wd"])
        else:
            opt = torch.optim.Adam(a_b, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"])
        last = min(end, len(stream) - 1)
        for first in range(start + 1, last + 1, cfg["chunk"]):
            bt = min(first + cfg["chunk"] - 1, last)
            ws = max(start, bt - cfg["context"])
            ids, targets = stream[ws:bt][None], stream[ws + 1:bt + 1][None]
            token = head_losses(model, ids, targets, head)[first - ws - 1:]
            losses[first:bt + 1] = token.detach()
            if bt < last:
                opt.zero_grad()
                token.mean().backward()
                opt.step()
        for h in hooks:
            h.remove()
    save(sys.argv[3], {"losses": losses})


if __name__ == "__main__":
    main()
