//! What a hostile GGUF header is held to, shared by the fuzz target (`engine/fuzz`, which includes this file) and
//! `tests/gguf_corpus.rs`, which replays the fuzzer's corpus: parsing it as a whole file and as a prefix of unknown
//! length, and the gpt-oss checks on whatever parses (the config from the metadata, the tensor plan), return
//! errors and never panic; and a prefix that is not yet a whole header asks for more bytes than it holds, or the
//! loader would loop.

use gptoss_engine::gguf::{parse_header, ParseOutcome};
use gptoss_engine::model::{GptOssConfig, TensorPlan};

/// How far an input got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reached {
    Refused,
    NeedMore,
    Header,
    Config,
    Plan,
}

pub fn check_header(data: &[u8]) -> Reached {
    let whole = parse_header(data, Some(data.len() as u64), "fuzz.gguf");
    let prefix = parse_header(data, None, "fuzz.gguf");
    if let Ok(ParseOutcome::NeedMore { at_least }) = prefix {
        assert!(at_least > data.len() as u64, "NeedMore {at_least} with {} bytes in hand", data.len());
    }
    let header = match (whole, prefix) {
        (Ok(ParseOutcome::Complete(h)), _) | (_, Ok(ParseOutcome::Complete(h))) => h,
        (_, Ok(ParseOutcome::NeedMore { .. })) => return Reached::NeedMore,
        _ => return Reached::Refused,
    };
    let Ok(config) = GptOssConfig::from_header(&header) else {
        return Reached::Header;
    };
    match TensorPlan::new(&config, &header.tensors) {
        Ok(_) => Reached::Plan,
        Err(_) => Reached::Config,
    }
}
