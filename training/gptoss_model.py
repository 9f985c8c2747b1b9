"""gpt-oss in PyTorch, written from `../shared/docs/gpt-oss.md` §5 (the forward pass as llama.cpp computes it),
independently of the engine: RMSNorm, GQA attention with learned sinks, sliding-window (even layers) and full
layers, NEOX RoPE with llama.cpp's YaRN (floored/ceiled correction dims), a top-k router with softmax over the k,
SwiGLU-OAI experts with their clamp and biases, an untied LM head over the 201,088-id vocabulary.

Parameters are stored in PyTorch's orientation of the GGUF tensors (`weight[n, :]` is GGUF row n; experts stacked
first), so export is a reshape-free quantisation. Names are the GGUF names with `.` replaced by `/`.

The vocabulary is handled through `used_ids`: the ids that occur in the training data. Every other id's embedding
row is zero (it is never looked up in training) and every other id's LM-head row is one shared vector — exactly
what training the full 201,088-row head from a zero initialisation gives, since those rows see identical
gradients. So training computes the full softmax as a log-sum-exp over the used rows plus `shared + ln(count)`,
and the exported file holds the full matrices.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn.functional as F

VOCAB_SIZE = 201_088


@dataclass
class Config:
    layers: int = 4
    embedding: int = 128
    heads: int = 8
    kv_heads: int = 2
    head_dim: int = 64
    experts: int = 16
    experts_used: int = 4
    expert_width: int = 128
    sliding_window: int = 128
    context_length: int = 4096
    rope_base: float = 150_000.0
    yarn_factor: float = 32.0
    yarn_original_context: int = 4096
    rms_eps: float = 1e-5
    swiglu_alpha: float = 1.702
    swiglu_limit: float = 7.0

    def shape(self):
        """The fields `gptoss pack` reads (`synth::Shape`)."""
        d = asdict(self)
        keys = ["layers", "embedding", "heads", "kv_heads", "head_dim", "experts", "experts_used", "expert_width",
                "sliding_window", "context_length"]
        return {k: d[k] for k in keys}


def layer_tensors(cfg):
    """(GGUF name suffix, PyTorch shape) of one layer's tensors, in the published order (`gpt-oss.md` §4.1)."""
    e, q, kv, x, f = cfg.embedding, cfg.heads * cfg.head_dim, cfg.kv_heads * cfg.head_dim, cfg.experts, cfg.expert_width
    return [
        ("attn_norm.weight", (e,)),
        ("attn_q.weight", (q, e)), ("attn_q.bias", (q,)),
        ("attn_k.weight", (kv, e)), ("attn_k.bias", (kv,)),
        ("attn_v.weight", (kv, e)), ("attn_v.bias", (kv,)),
        ("attn_output.weight", (e, q)), ("attn_output.bias", (e,)),
        ("attn_sinks.weight", (cfg.heads,)),
        ("post_attention_norm.weight", (e,)),
        ("ffn_gate_inp.weight", (x, e)), ("ffn_gate_inp.bias", (x,)),
        ("ffn_gate_exps.weight", (x, f, e)), ("ffn_gate_exps.bias", (x, f)),
        ("ffn_up_exps.weight", (x, f, e)), ("ffn_up_exps.bias", (x, f)),
        ("ffn_down_exps.weight", (x, e, f)), ("ffn_down_exps.bias", (x, e)),
    ]


def rope_tables(cfg, positions):
    """cos and sin (times YaRN's magnitude) for NEOX pairs (i, i + 32), §5.4, in float64 then float32."""
    half = cfg.head_dim // 2
    i = torch.arange(half, dtype=torch.float64)
    extrap = cfg.rope_base ** (-2.0 * i / cfg.head_dim)
    interp = extrap / cfg.yarn_factor

    def corr(rotations):
        return cfg.head_dim * math.log(cfg.yarn_original_context / (rotations * 2 * math.pi)) / (2 * math.log(cfg.rope_base))

    low = max(0.0, math.floor(corr(32.0)))
    high = min(cfg.head_dim - 1.0, math.ceil(corr(1.0)))
    ramp = (i - low) / max(0.001, high - low)
    mix = 1.0 - ramp.clamp(0.0, 1.0)
    freq = interp * (1.0 - mix) + extrap * mix
    mscale = 1.0 + 0.1 * math.log(cfg.yarn_factor)
    theta = positions.to(torch.float64)[:, None] * freq[None, :]
    return (torch.cos(theta) * mscale).float(), (torch.sin(theta) * mscale).float()


def rotate(x, cos, sin):
    """x: [..., T, heads, 64]; pairs are the two halves."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.cat([a * c - b * s, a * s + b * c], dim=-1)


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class GptOss(torch.nn.Module):
    def __init__(self, cfg, used_ids):
        super().__init__()
        self.cfg = cfg
        used_ids = torch.as_tensor(used_ids, dtype=torch.long)
        self.register_buffer("used_ids", used_ids, persistent=False)
        self.n_other = VOCAB_SIZE - len(used_ids)
        self.params = torch.nn.ParameterDict()
        add = lambda name, shape: self.params.__setitem__(name.replace(".", "/"), torch.nn.Parameter(torch.zeros(shape)))
        add("token_embd.weight", (len(used_ids), cfg.embedding))
        for il in range(cfg.layers):
            for name, shape in layer_tensors(cfg):
                add(f"blk.{il}.{name}", shape)
        add("output_norm.weight", (cfg.embedding,))
        add("output.weight", (len(used_ids), cfg.embedding))
        # The LM-head row every id outside `used_ids` shares (see the module comment).
        add("output.shared_row", (cfg.embedding,))

    def p(self, name):
        return self.params[name.replace(".", "/")]

    def initialise(self, generator):
        cfg = self.cfg
        for key, param in self.params.items():
            name = key.replace("/", ".")
            with torch.no_grad():
                if name.endswith("norm.weight"):
                    param.fill_(1.0)
                elif name.endswith(".bias") or name.endswith("sinks.weight") or name == "output.shared_row":
                    param.zero_()
                elif name == "token_embd.weight":
                    param.normal_(0.0, 1.0, generator=generator)
                else:
                    fan_in = param.shape[-1]
                    gain = 0.5 if name.endswith(("attn_output.weight", "ffn_down_exps.weight")) else 1.0
                    param.normal_(0.0, gain / math.sqrt(fan_in), generator=generator)

    def hidden(self, tokens):
        """tokens: [B, T] indices into `used_ids` (len(used_ids) = an id outside it: a zero embedding row) ->
        the final-norm output [B, T, E] and the router's auxiliary load-balancing loss."""
        cfg = self.cfg
        B, T = tokens.shape
        embd = torch.cat([self.p("token_embd.weight"), self.p("token_embd.weight").new_zeros(1, cfg.embedding)])
        h = embd[tokens]
        positions = torch.arange(T, device=tokens.device)
        cos, sin = rope_tables(cfg, positions.cpu())
        cos, sin = cos.to(tokens.device), sin.to(tokens.device)
        causal = positions[None, :] <= positions[:, None]
        window = (positions[:, None] - positions[None, :]) < cfg.sliding_window
        aux = h.new_zeros(())
        for il in range(cfg.layers):
            w = lambda n: self.p(f"blk.{il}.{n}")
            a = rms_norm(h, w("attn_norm.weight"), cfg.rms_eps)
            q = (a @ w("attn_q.weight").T + w("attn_q.bias")).view(B, T, cfg.heads, cfg.head_dim)
            k = (a @ w("attn_k.weight").T + w("attn_k.bias")).view(B, T, cfg.kv_heads, cfg.head_dim)
            v = (a @ w("attn_v.weight").T + w("attn_v.bias")).view(B, T, cfg.kv_heads, cfg.head_dim)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
            group = cfg.heads // cfg.kv_heads
            # q head h reads kv head h // group.
            k = k.repeat_interleave(group, dim=2)
            v = v.repeat_interleave(group, dim=2)
            scores = torch.einsum("bqhd,bkhd->bhqk", q, k) * (1.0 / math.sqrt(cfg.head_dim))
            # Even layers slide: a query sees itself and the 127 keys before it.
            allowed = causal & window if il % 2 == 0 else causal
            scores = scores.masked_fill(~allowed, float("-inf"))
            sink = w("attn_sinks.weight").view(1, cfg.heads, 1, 1).expand(B, cfg.heads, T, 1)
            # The sink logit joins the softmax's denominator only.
            probs = torch.softmax(torch.cat([scores, sink], dim=-1), dim=-1)[..., :T]
            o = torch.einsum("bhqk,bkhd->bqhd", probs, v).reshape(B, T, cfg.heads * cfg.head_dim)
            h = h + o @ w("attn_output.weight").T + w("attn_output.bias")

            m = rms_norm(h, w("post_attention_norm.weight"), cfg.rms_eps)
            router = m @ w("ffn_gate_inp.weight").T + w("ffn_gate_inp.bias")
            top_logits, top_idx = router.topk(cfg.experts_used, dim=-1)
            weights = torch.softmax(top_logits, dim=-1)
            # Every expert on every token (cheap at this size), then the chosen k mixed: the same sum as computing
            # only the chosen ones.
            g = torch.einsum("bte,xfe->btxf", m, w("ffn_gate_exps.weight")) + w("ffn_gate_exps.bias")
            u = torch.einsum("bte,xfe->btxf", m, w("ffn_up_exps.weight")) + w("ffn_up_exps.bias")
            g = g.clamp(max=cfg.swiglu_limit)
            u = u.clamp(-cfg.swiglu_limit, cfg.swiglu_limit)
            act = g * torch.sigmoid(cfg.swiglu_alpha * g) * (u + 1.0)
            y = torch.einsum("btxf,xef->btxe", act, w("ffn_down_exps.weight")) + w("ffn_down_exps.bias")
            chosen = torch.gather(y, 2, top_idx[..., None].expand(B, T, cfg.experts_used, cfg.embedding))
            h = h + (weights[..., None] * chosen).sum(2)
            # Switch-style balance: fraction of tokens routed to each expert times its mean router probability.
            routed = F.one_hot(top_idx, cfg.experts).float().sum(2).mean((0, 1)) / cfg.experts_used
            aux = aux + cfg.experts * (routed * torch.softmax(router, -1).mean((0, 1))).sum()
        return rms_norm(h, self.p("output_norm.weight"), self.cfg.rms_eps), aux / cfg.layers

    def log_probs(self, y, targets):
        """log p(target) under the full 201,088-way softmax. targets index `used_ids`; len(used_ids) = some id
        outside it (all of which have the shared row's logit)."""
        used = y @ self.p("output.weight").T
        shared = y @ self.p("output.shared_row")
        parts = [used]
        if self.n_other:
            parts.append((shared + math.log(self.n_other))[..., None])
        log_z = torch.logsumexp(torch.cat(parts, dim=-1), dim=-1)
        target_logit = torch.cat([used, shared[..., None]], dim=-1).gather(-1, targets[..., None])[..., 0]
        return target_logit - log_z

    def full_logits(self, y):
        """All 201,088 logits (evaluation)."""
        logits = (y @ self.p("output.shared_row")).unsqueeze(-1).expand(*y.shape[:-1], VOCAB_SIZE).clone()
        logits[..., self.used_ids] = y @ self.p("output.weight").T
        return logits

    def gguf_tensors(self):
        """Every GGUF tensor in the published order, as float32 arrays in GGUF row order (full vocabulary)."""
        cfg = self.cfg
        out = []
        with torch.no_grad():
            embd = torch.zeros(VOCAB_SIZE, cfg.embedding)
            embd[self.used_ids.cpu()] = self.p("token_embd.weight").detach().float().cpu()
            out.append(("token_embd.weight", embd))
            for il in range(cfg.layers):
                for name, _ in layer_tensors(cfg):
                    out.append((f"blk.{il}.{name}", self.p(f"blk.{il}.{name}").detach().float().cpu()))
            out.append(("output_norm.weight", self.p("output_norm.weight").detach().float().cpu()))
            head = self.p("output.shared_row").detach().float().cpu().expand(VOCAB_SIZE, cfg.embedding).clone()
            head[self.used_ids.cpu()] = self.p("output.weight").detach().float().cpu()
            out.append(("output.weight", head))
        return out
