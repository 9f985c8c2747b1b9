//! o200k_harmony, rebuilt from the GGUF's own metadata (`gpt-oss.md` §6).
//!
//! Byte-level BPE over the `tokenizer.ggml.tokens` / `tokenizer.ggml.merges` arrays, split first by the original
//! o200k regex as tiktoken runs it (§6.3) — not llama.cpp's ASCII-collapsed std::regex rewrite, which differs on
//! non-ASCII case changes and combining marks. CONTROL tokens (`<|start|>`, `<|return|>`, …) are special added
//! tokens, so text that spells one is encoded as that one id, as tiktoken does with all specials allowed.

use crate::gguf::{GgufHeader, MetaArray};
use crate::{Error, Result};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, Model, OffsetType, PreTokenizedString, PreTokenizer, SplitDelimiterBehavior};

const KEY_MODEL: &str = "tokenizer.ggml.model";
const KEY_PRE: &str = "tokenizer.ggml.pre";
const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
const KEY_MERGES: &str = "tokenizer.ggml.merges";
const KEY_BOS: &str = "tokenizer.ggml.bos_token_id";
const KEY_EOS: &str = "tokenizer.ggml.eos_token_id";
const KEY_PAD: &str = "tokenizer.ggml.padding_token_id";

/// `llama_token_type::LLAMA_TOKEN_TYPE_CONTROL`: the Harmony specials 199998..=200018.
const TOKEN_TYPE_CONTROL: i32 = 3;

/// The o200k pre-tokenizer, verbatim from `openai/harmony:src/tiktoken_ext/public_encodings.rs` (§6.3).
const O200K_PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|\p{N}{1,3}",
    r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
    r"|\s*[\r\n]+",
    r"|\s+(?!\S)",
    r"|\s+",
);

/// The special ids the GGUF names (each optional in llama.cpp; the published files carry all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub padding: Option<u32>,
}

/// Text ⇄ token ids for a gpt-oss GGUF.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    vocab_size: u32,
    special_ids: SpecialIds,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size)
            .field("special_ids", &self.special_ids)
            .finish_non_exhaustive()
    }
}

fn tokenizer_error(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

fn required_array<'h>(header: &'h GgufHeader, key: &str) -> Result<&'h MetaArray> {
    let value = header.get(key).ok_or_else(|| Error::Tokenizer(format!("missing metadata key `{key}`")))?;
    value
        .as_array()
        .ok_or_else(|| Error::Tokenizer(format!("metadata key `{key}` is {:?}, expected an array", value.meta_type())))
}

fn string_array<'h>(header: &'h GgufHeader, key: &str) -> Result<&'h [String]> {
    match required_array(header, key)? {
        MetaArray::String(v) => Ok(v),
        other => Err(Error::Tokenizer(format!(
            "metadata key `{key}` is an array of {:?}, expected strings",
            other.element_type()
        ))),
    }
}

/// An optional special id; present, it must be an integer naming a token of the vocabulary.
fn optional_id(header: &GgufHeader, key: &str, vocab_size: u32) -> Result<Option<u32>> {
    let Some(value) = header.get(key) else {
        return Ok(None);
    };
    let id = value.as_u64().ok_or_else(|| {
        Error::Tokenizer(format!("metadata key `{key}` is {:?}, expected a token id", value.meta_type()))
    })?;
    match u32::try_from(id) {
        Ok(id) if id < vocab_size => Ok(Some(id)),
        _ => Err(Error::Tokenizer(format!(
            "metadata key `{key}` = {id} is outside the vocabulary ({vocab_size} tokens)"
        ))),
    }
}

impl Tokenizer {
    /// Build the tokenizer from the `tokenizer.ggml.*` metadata. Every error names the key at fault.
    pub fn from_gguf(header: &GgufHeader) -> Result<Self> {
        let model = header.require_str(KEY_MODEL)?;
        if model != "gpt2" {
            return Err(Error::Tokenizer(format!(
                "metadata key `{KEY_MODEL}` is `{model}`; only `gpt2` (byte-level BPE) is supported"
            )));
        }
        let pre = header.require_str(KEY_PRE)?;
        if pre != "gpt-4o" {
            return Err(Error::Tokenizer(format!(
                "metadata key `{KEY_PRE}` is `{pre}`; only `gpt-4o` (the o200k pre-tokenizer) is supported"
            )));
        }

        let tokens = string_array(header, KEY_TOKENS)?;
        let token_types = match required_array(header, KEY_TOKEN_TYPE)? {
            MetaArray::I32(v) => v,
            other => {
                return Err(Error::Tokenizer(format!(
                    "metadata key `{KEY_TOKEN_TYPE}` is an array of {:?}, expected i32",
                    other.element_type()
                )))
            }
        };
        if tokens.is_empty() {
            return Err(Error::Tokenizer(format!("metadata key `{KEY_TOKENS}` is empty")));
        }
        if token_types.len() != tokens.len() {
            return Err(Error::Tokenizer(format!(
                "metadata key `{KEY_TOKEN_TYPE}` has {} entries but `{KEY_TOKENS}` has {}",
                token_types.len(),
                tokens.len()
            )));
        }
        let vocab_size = u32::try_from(tokens.len())
            .map_err(|_| Error::Tokenizer(format!("metadata key `{KEY_TOKENS}` has {} entries", tokens.len())))?;

        let mut vocab = Vocab::with_capacity(tokens.len());
        for (id, token) in (0u32..).zip(tokens) {
            if let Some(first) = vocab.insert(token.clone(), id) {
                return Err(Error::Tokenizer(format!(
                    "metadata key `{KEY_TOKENS}`: entries {first} and {id} are both `{token}`"
                )));
            }
        }
        let merges = string_array(header, KEY_MERGES)?
            .iter()
            .enumerate()
            .map(|(i, merge)| match merge.split_once(' ') {
                // Byte-level token text never holds a raw space (it is `Ġ`), so one space separates the pair.
                Some((left, right)) if !left.is_empty() && !right.is_empty() => Ok((left.to_owned(), right.to_owned())),
                _ => Err(Error::Tokenizer(format!(
                    "metadata key `{KEY_MERGES}`: entry {i} `{merge}` is not two tokens separated by one space"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;

        // ignore_merges: a pre-token that is itself in the vocabulary is that token, as tiktoken's `encode` does
        // before running any merge.
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .ignore_merges(true)
            .build()
            .map_err(|e| Error::Tokenizer(format!("metadata key `{KEY_MERGES}`: {e}")))?;

        let split = Split::new(SplitPattern::Regex(O200K_PATTERN.to_owned()), SplitDelimiterBehavior::Isolated, false)
            .map_err(|e| Error::Tokenizer(format!("o200k pre-tokenizer regex: {e}")))?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        // ByteLevel only maps bytes to GPT-2's printable characters here: the split above already did the regex,
        // and o200k adds no prefix space.
        inner.with_pre_tokenizer(Some(Sequence::new(vec![split.into(), ByteLevel::new(false, false, false).into()])));
        inner.with_decoder(Some(ByteLevelDecoder::default()));

        let controls: Vec<AddedToken> = tokens
            .iter()
            .zip(token_types)
            .filter(|(_, &kind)| kind == TOKEN_TYPE_CONTROL)
            .map(|(text, _)| AddedToken::from(text.clone(), true))
            .collect();
        inner.add_special_tokens(&controls);

        let special_ids = SpecialIds {
            bos: optional_id(header, KEY_BOS, vocab_size)?,
            eos: optional_id(header, KEY_EOS, vocab_size)?,
            padding: optional_id(header, KEY_PAD, vocab_size)?,
        };
        Ok(Tokenizer { inner, vocab_size, special_ids })
    }

    /// Number of token ids (the length of `tokenizer.ggml.tokens`, = the model's embedding rows).
    pub fn vocab_size(&self) -> u32 {
        self.vocab_size
    }

    pub fn special_ids(&self) -> SpecialIds {
        self.special_ids
    }

    /// The id of a token given its vocabulary text (`"<|start|>"`, `"Ġhello"`).
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.inner.token_to_id(text)
    }

    /// Encode text; special tokens written literally (`<|start|>`) become their ids. No BOS is added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self.inner.encode_fast(text, false).map_err(tokenizer_error)?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Encode text as plain text: special-token spellings stay text (tiktoken's `encode_ordinary`, which Harmony
    /// uses for every piece of message text, so user content cannot forge a `<|end|>`).
    pub fn encode_ordinary(&self, text: &str) -> Result<Vec<u32>> {
        let pre_tokenizer =
            self.inner.get_pre_tokenizer().ok_or_else(|| Error::Tokenizer("tokenizer has no pre-tokenizer".into()))?;
        let mut pieces = PreTokenizedString::from(text);
        pre_tokenizer.pre_tokenize(&mut pieces).map_err(tokenizer_error)?;
        let model = self.inner.get_model();
        pieces.tokenize(|piece| model.tokenize(piece.get())).map_err(tokenizer_error)?;
        let encoding = pieces.into_encoding(None, 0, OffsetType::None).map_err(tokenizer_error)?;
        Ok(encoding.get_ids().to_vec())
    }

    fn check_id(&self, id: u32) -> Result<()> {
        if id < self.vocab_size {
            Ok(())
        } else {
            Err(Error::Tokenizer(format!("token id {id} is outside the vocabulary ({} tokens)", self.vocab_size)))
        }
    }

    /// Decode ids to text (special tokens as their text). Bytes that do not form UTF-8 become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        // The `tokenizers` decoder silently drops unknown ids; an id from nowhere is a bug worth reporting.
        ids.iter().try_for_each(|&id| self.check_id(id))?;
        self.inner.decode(ids, false).map_err(tokenizer_error)
    }

    /// One token's text on its own (for labels); a token that ends inside a character shows U+FFFD.
    pub fn token_text(&self, id: u32) -> Result<String> {
        self.decode(&[id])
    }

    /// The bytes one token stands for, which may be part of a UTF-8 character.
    pub fn token_bytes(&self, id: u32) -> Result<Vec<u8>> {
        self.check_id(id)?;
        let text = self
            .inner
            .id_to_token(id)
            .ok_or_else(|| Error::Tokenizer(format!("token id {id} has no text in the vocabulary")))?;
        // Same rule as the ByteLevel decoder: map every character back to its byte, or, if any character is
        // outside GPT-2's table, keep the token's own UTF-8.
        Ok(text.chars().map(gpt2_char_byte).collect::<Option<Vec<u8>>>().unwrap_or_else(|| text.into_bytes()))
    }
}

/// GPT-2's byte-to-unicode table (`openai/gpt-2:src/encoder.py`, `bytes_to_unicode`), inverted: printable
/// Latin-1 bytes stand for themselves, the other 68 bytes were moved, in increasing order, to U+0100 onwards.
fn gpt2_char_byte(c: char) -> Option<u8> {
    let printable = |b: u32| matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
    let code = u32::from(c);
    if code <= 0xFF {
        return printable(code).then_some(code as u8);
    }
    let moved = usize::try_from(code - 0x100).ok()?;
    (0u8..=255).filter(|&b| !printable(u32::from(b))).nth(moved)
}

/// Turns a stream of token ids into text, releasing it only at UTF-8 character boundaries: a token may end
/// inside a character (emoji, CJK), and its bytes wait for the token that completes them.
#[derive(Debug, Clone, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one token; returns the text it completes (often empty while a character is incomplete).
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> Result<String> {
        let bytes = tokenizer.token_bytes(id)?;
        Ok(self.push_bytes(&bytes))
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(text) => {
                    out.push_str(text);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // Bytes that can never become a character: one U+FFFD, exactly as a lossy decode.
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                        // A character cut short at the end: wait for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                    }
                }
            }
        }
    }

    /// Whether bytes of an unfinished character are waiting.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// End of the stream: an unfinished character becomes U+FFFD, as [`Tokenizer::decode`] shows it.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}
