// KV cache entries stored as f32 (adapters without shader-f16).
alias kv_t = f32;
