// KV cache entries stored as f16 (needs the shader-f16 feature); arithmetic stays f32.
enable f16;
alias kv_t = f16;
