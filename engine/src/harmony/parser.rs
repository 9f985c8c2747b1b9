//! The incremental parser: generated ids back into Harmony messages, token by token.

use super::{format_id, Channel, Message, Role, CALL, CHANNEL, CONSTRAIN, END, MESSAGE, RETURN, START};
use crate::tokenizer::{StreamDecoder, Tokenizer};
use crate::{Error, Result};

/// A real header is a role, a recipient, a channel and a content type: about 15 tokens. A header still open
/// after this many tokens is taken to be malformed output and shown as raw text.
const MAX_HEADER_TOKENS: usize = 64;

/// Ids of the format tokens the parser reacts to.
#[derive(Debug, Clone, Copy)]
struct FormatIds {
    start: u32,
    end: u32,
    message: u32,
    ret: u32,
    call: u32,
}

/// Which part of the output a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPart {
    /// `<|start|>`, role, recipient, `<|channel|>`, channel name, content type, `<|message|>`.
    Header,
    Content,
    /// `<|end|>`, `<|return|>`, `<|call|>`.
    End,
    /// Malformed output kept as text: a header that never closed, an unknown channel or role, stray tokens
    /// between messages.
    Raw,
}

impl TokenPart {
    /// The name events and the HUD's `data-part` carry.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPart::Header => "header",
            TokenPart::Content => "content",
            TokenPart::End => "end",
            TokenPart::Raw => "raw",
        }
    }
}

/// A generated token and the message it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TokenTag {
    pub id: u32,
    /// The channel of the token's message; `None` while its header is still open, for raw text, and for
    /// messages without a channel.
    pub channel: Option<Channel>,
    pub part: TokenPart,
}

/// A finished piece of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Message(Message),
    /// Malformed output, as the text it decodes to (format tokens spelled out).
    Raw(String),
}

/// What one token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The token's tag as known now; [`HarmonyParser::tags`] also fills in header tokens' channel later.
    pub tag: TokenTag,
    /// Text this token released, whole characters only: content of its message, or raw text (a header that
    /// never closed is released by the token that ends it). All steps' text, in order, is the text of
    /// [`HarmonyParser::parsed`], in order.
    pub text: String,
    /// The message or raw segment this token finished.
    pub finished: Option<Parsed>,
    /// `<|return|>` or `<|call|>`: stop sampling. Never set for `<|end|>`, which only separates messages.
    pub stop: bool,
}

enum State {
    /// Between messages, waiting for `<|start|>`.
    ExpectStart,
    /// Collecting a header until `<|message|>`. `role` is known when the prompt already wrote it.
    Header {
        role: Option<Role>,
        started: bool,
        ids: Vec<u32>,
    },
    Content {
        message: Message,
        text: StreamDecoder,
    },
    Raw {
        text: String,
        decoder: StreamDecoder,
    },
}

/// Incremental parser of generated ids into Harmony messages. Never fails on malformed output: what does not
/// parse is kept as [`Parsed::Raw`] text.
pub struct HarmonyParser {
    ids: FormatIds,
    state: State,
    parsed: Vec<Parsed>,
    tags: Vec<TokenTag>,
    /// Index into `tags` of the current message's first token, for filling in its channel once known.
    message_start: usize,
    stopped: bool,
}

impl HarmonyParser {
    /// For the output after a prompt from [`Conversation::prompt_ids`], which ends with `<|start|>assistant`:
    /// the first header's role is already written.
    pub fn for_completion(tokenizer: &Tokenizer) -> Result<Self> {
        Self::with_state(tokenizer, State::Header { role: Some(Role::Assistant), started: false, ids: Vec::new() })
    }

    /// For a token stream that starts at a message boundary.
    pub fn new(tokenizer: &Tokenizer) -> Result<Self> {
        Self::with_state(tokenizer, State::ExpectStart)
    }

    fn with_state(tokenizer: &Tokenizer, state: State) -> Result<Self> {
        let ids = FormatIds {
            start: format_id(tokenizer, START)?,
            end: format_id(tokenizer, END)?,
            message: format_id(tokenizer, MESSAGE)?,
            ret: format_id(tokenizer, RETURN)?,
            call: format_id(tokenizer, CALL)?,
        };
        Ok(HarmonyParser { ids, state, parsed: Vec::new(), tags: Vec::new(), message_start: 0, stopped: false })
    }

    /// Every token so far with its final tag.
    pub fn tags(&self) -> &[TokenTag] {
        &self.tags
    }

    /// Finished messages and raw segments, in order.
    pub fn parsed(&self) -> &[Parsed] {
        &self.parsed
    }

    /// Whether a stop token (`<|return|>`, `<|call|>`) has been seen.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The channel of the message being generated, once its header has closed.
    pub fn current_channel(&self) -> Option<Channel> {
        match &self.state {
            State::Content { message, .. } => message.channel,
            _ => None,
        }
    }

    /// Consume one generated id. Errors only for an id outside the vocabulary.
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> Result<Step> {
        if id >= tokenizer.vocab_size() {
            return Err(Error::Tokenizer(format!(
                "token id {id} is outside the vocabulary ({} tokens)",
                tokenizer.vocab_size()
            )));
        }
        let ids = self.ids;
        let is_stop = id == ids.ret || id == ids.call;
        let is_terminator = is_stop || id == ids.end;
        let mut step = Step {
            tag: TokenTag { id, channel: None, part: TokenPart::Raw },
            text: String::new(),
            finished: None,
            stop: is_stop,
        };
        if is_stop {
            self.stopped = true;
        }

        match std::mem::replace(&mut self.state, State::ExpectStart) {
            State::ExpectStart => {
                if id == ids.start {
                    self.begin_header();
                    step.tag.part = TokenPart::Header;
                } else if is_terminator {
                    step.tag.part = TokenPart::End;
                } else {
                    // Output outside any message: keep it as raw text until the next boundary.
                    self.message_start = self.tags.len();
                    let mut decoder = StreamDecoder::new();
                    step.text = decoder.push(tokenizer, id)?;
                    self.state = State::Raw { text: step.text.clone(), decoder };
                }
            }
            State::Raw { mut text, mut decoder } => {
                if id == ids.start || is_terminator {
                    step.text = decoder.finish();
                    text.push_str(&step.text);
                    step.finished = Some(self.finish_raw(text));
                    if id == ids.start {
                        self.begin_header();
                        step.tag.part = TokenPart::Header;
                    } else {
                        step.tag.part = TokenPart::End;
                    }
                } else {
                    step.text = decoder.push(tokenizer, id)?;
                    text.push_str(&step.text);
                    self.state = State::Raw { text, decoder };
                }
            }
            State::Header { role, started, ids: mut ids_so_far } => {
                let raw_text = |ids_so_far: &[u32]| -> Result<String> {
                    let mut all = Vec::with_capacity(ids_so_far.len() + 1);
                    if started {
                        all.push(ids.start);
                    }
                    all.extend_from_slice(ids_so_far);
                    tokenizer.decode(&all)
                };
                if id == ids.message {
                    let header = tokenizer.decode(&ids_so_far)?;
                    match parse_header(&header, role) {
                        Some(message) => {
                            let channel = message.channel;
                            for tag in &mut self.tags[self.message_start..] {
                                tag.channel = channel;
                            }
                            step.tag = TokenTag { id, channel, part: TokenPart::Header };
                            self.state = State::Content { message, text: StreamDecoder::new() };
                        }
                        None => {
                            // Unknown channel or role, or words left over: the rest of this message is raw text.
                            ids_so_far.push(id);
                            step.text = raw_text(&ids_so_far)?;
                            self.retag_as_raw();
                            self.state = State::Raw { text: step.text.clone(), decoder: StreamDecoder::new() };
                        }
                    }
                } else if id == ids.start || is_terminator {
                    // The header never closed: release it as raw text.
                    step.text = raw_text(&ids_so_far)?;
                    step.finished = Some(self.finish_raw(step.text.clone()));
                    if id == ids.start {
                        self.begin_header();
                        step.tag.part = TokenPart::Header;
                    } else {
                        step.tag.part = TokenPart::End;
                    }
                } else if ids_so_far.len() >= MAX_HEADER_TOKENS {
                    ids_so_far.push(id);
                    step.text = raw_text(&ids_so_far)?;
                    self.retag_as_raw();
                    self.state = State::Raw { text: step.text.clone(), decoder: StreamDecoder::new() };
                } else {
                    ids_so_far.push(id);
                    step.tag.part = TokenPart::Header;
                    self.state = State::Header { role, started, ids: ids_so_far };
                }
            }
            State::Content { mut message, text: mut decoder } => {
                if id == ids.start || is_terminator {
                    step.text = decoder.finish();
                    message.content.push_str(&step.text);
                    step.tag = if id == ids.start {
                        // `<|end|>` was skipped; the model began the next message.
                        TokenTag { id, channel: None, part: TokenPart::Header }
                    } else {
                        TokenTag { id, channel: message.channel, part: TokenPart::End }
                    };
                    self.parsed.push(Parsed::Message(message.clone()));
                    step.finished = Some(Parsed::Message(message));
                    if id == ids.start {
                        self.begin_header();
                    }
                } else {
                    step.text = decoder.push(tokenizer, id)?;
                    message.content.push_str(&step.text);
                    step.tag = TokenTag { id, channel: message.channel, part: TokenPart::Content };
                    self.state = State::Content { message, text: decoder };
                }
            }
        }
        self.tags.push(step.tag);
        Ok(step)
    }

    /// End of generation: close whatever is open (an unclosed header becomes raw text) and return everything
    /// parsed.
    pub fn finish(mut self, tokenizer: &Tokenizer) -> Result<Vec<Parsed>> {
        match std::mem::replace(&mut self.state, State::ExpectStart) {
            State::ExpectStart => {}
            State::Header { started, ids, .. } => {
                if started || !ids.is_empty() {
                    let mut all = Vec::with_capacity(ids.len() + 1);
                    if started {
                        all.push(self.ids.start);
                    }
                    all.extend(ids);
                    let text = tokenizer.decode(&all)?;
                    self.finish_raw(text);
                }
            }
            State::Content { mut message, text: mut decoder } => {
                message.content.push_str(&decoder.finish());
                self.parsed.push(Parsed::Message(message));
            }
            State::Raw { mut text, mut decoder } => {
                text.push_str(&decoder.finish());
                self.finish_raw(text);
            }
        }
        Ok(self.parsed)
    }

    /// `<|start|>` was just seen: the token about to be tagged opens a new message.
    fn begin_header(&mut self) {
        self.message_start = self.tags.len();
        self.state = State::Header { role: None, started: true, ids: Vec::new() };
    }

    fn retag_as_raw(&mut self) {
        for tag in &mut self.tags[self.message_start..] {
            *tag = TokenTag { id: tag.id, channel: None, part: TokenPart::Raw };
        }
    }

    fn finish_raw(&mut self, text: String) -> Parsed {
        self.retag_as_raw();
        self.parsed.push(Parsed::Raw(text.clone()));
        Parsed::Raw(text)
    }
}

/// Parse a header's text the way `openai/harmony`'s `parse_header_from_string` does: take out
/// `<|channel|>{name}`, split the rest on whitespace; the role comes first (unless already known), then an
/// optional recipient (`to=…`) and an optional content type last. `None` when it does not parse: unknown
/// role or channel, empty channel, or words left over.
fn parse_header(header: &str, role: Option<Role>) -> Option<Message> {
    let mut rest = header.to_owned();
    let mut channel = None;
    if let Some(at) = rest.find(CHANNEL) {
        let after = &rest[at + CHANNEL.len()..];
        let len = after.find(|c: char| c.is_whitespace() || c == '<').unwrap_or(after.len());
        channel = Some(Channel::parse(&after[..len])?);
        rest = format!("{}{}", &rest[..at], &after[len..]);
    }
    // `to=x<|constrain|>json` has no space before the marker; give it one so it splits off.
    let rest = rest.replace(CONSTRAIN, &format!(" {CONSTRAIN}"));
    let mut parts: Vec<&str> = rest.split_whitespace().collect();
    let role = match role {
        Some(role) => role,
        None => Role::parse(parts.first()?)?,
    };
    if parts.first() == Some(&role.as_str()) {
        parts.remove(0);
    }
    let (mut recipient, mut content_type) = (None, None);
    if let Some(last) = parts.pop() {
        if let Some(to) = last.strip_prefix("to=") {
            recipient = Some(to.to_owned());
        } else if parts.is_empty() && !last.starts_with(CONSTRAIN) {
            // A single word that is not a constrained type is a recipient without `to=` (Harmony's rule).
            recipient = Some(last.to_owned());
        } else {
            content_type = Some(last.to_owned());
            if let Some(to) = parts.pop() {
                recipient = Some(to.strip_prefix("to=").unwrap_or(to).to_owned());
            }
        }
    }
    if !parts.is_empty() {
        return None;
    }
    Some(Message { role, name: None, recipient, channel, content_type, content: String::new() })
}
