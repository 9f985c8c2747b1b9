//! Harmony, the chat format gpt-oss was trained on (`gpt-oss.md` §7): render a conversation into the prompt the
//! model expects, and parse the tokens it generates back into messages, token by token.
//!
//! Rendering follows `openai/harmony:src/encoding.rs`: each piece of header or content text is encoded on its
//! own as plain text (`encode_ordinary`), and the format tokens are inserted by id, so the ids match Harmony's
//! `render_conversation_for_completion` exactly and user text cannot forge a `<|end|>`.

use crate::tokenizer::{StreamDecoder, Tokenizer};
use crate::{Error, Result};

const START: &str = "<|start|>";
const END: &str = "<|end|>";
const MESSAGE: &str = "<|message|>";
const CHANNEL: &str = "<|channel|>";
const CONSTRAIN: &str = "<|constrain|>";
const RETURN: &str = "<|return|>";
const CALL: &str = "<|call|>";

/// A real header is a role, a recipient, a channel and a content type: about 15 tokens. A header still open
/// after this many tokens is taken to be malformed output and shown as raw text.
const MAX_HEADER_TOKENS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ReasoningEffort {
    Low,
    #[default]
    Medium,
    High,
}

impl ReasoningEffort {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

/// The system message's settings. `Default` is openai-harmony's `SystemContent::default()` (§7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemMessage {
    pub model_identity: String,
    pub knowledge_cutoff: String,
    /// `YYYY-MM-DD`; `None` leaves the date line out (Harmony's default; llama.cpp's template always writes it).
    pub current_date: Option<String>,
    pub reasoning_effort: ReasoningEffort,
}

impl Default for SystemMessage {
    fn default() -> Self {
        SystemMessage {
            model_identity: "You are ChatGPT, a large language model trained by OpenAI.".into(),
            knowledge_cutoff: "2024-06".into(),
            current_date: None,
            reasoning_effort: ReasoningEffort::Medium,
        }
    }
}

impl SystemMessage {
    /// The message text: identity block, reasoning line, valid-channels line, joined by blank lines.
    fn content(&self) -> String {
        let mut top = vec![self.model_identity.clone(), format!("Knowledge cutoff: {}", self.knowledge_cutoff)];
        if let Some(date) = &self.current_date {
            top.push(format!("Current date: {date}"));
        }
        [
            top.join("\n"),
            format!("Reasoning: {}", self.reasoning_effort.as_str()),
            format!(
                "# Valid channels: {}. Channel must be included for every message.",
                Channel::ALL.map(Channel::as_str).join(", ")
            ),
        ]
        .join("\n\n")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        [Role::System, Role::Developer, Role::User, Role::Assistant].into_iter().find(|r| r.as_str() == s)
    }
}

/// Where an assistant message goes: `analysis` is chain of thought (not for users), `commentary` carries tool
/// calls and preambles, `final` is the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Analysis,
    Commentary,
    Final,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Analysis, Channel::Commentary, Channel::Final];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Analysis => "analysis",
            Channel::Commentary => "commentary",
            Channel::Final => "final",
        }
    }

    fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One Harmony message: `<|start|>{role}[ to={recipient}][<|channel|>{channel}][ {content_type}]<|message|>{content}`
/// then `<|end|>`, or `<|call|>` for an assistant message addressed to a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub recipient: Option<String>,
    pub channel: Option<Channel>,
    /// `json`, or `<|constrain|>json` (the marker is rendered as its special token).
    pub content_type: Option<String>,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Message { role: Role::User, recipient: None, channel: None, content_type: None, content: content.into() }
    }

    /// The assistant's chain of thought (what a model trained to reason writes before its final answer).
    pub fn assistant_analysis(content: impl Into<String>) -> Self {
        Message { channel: Some(Channel::Analysis), ..Message::assistant_final(content) }
    }

    /// A past answer. History keeps only final answers: Harmony drops earlier analysis once a final message
    /// exists (`openai/harmony:docs/format.md`).
    pub fn assistant_final(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            recipient: None,
            channel: Some(Channel::Final),
            content_type: None,
            content: content.into(),
        }
    }
}

/// Everything before the model's turn.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conversation {
    pub system: SystemMessage,
    /// Rendered as a developer message `# Instructions⏎⏎{instructions}` (Harmony's form, without the trailing
    /// blank line llama.cpp's Jinja template adds, §7.3).
    pub developer_instructions: Option<String>,
    /// User and assistant turns, in order.
    pub messages: Vec<Message>,
}

/// A piece of a rendered prompt: a format token, or text encoded on its own.
enum Piece {
    Format(&'static str),
    Text(String),
}

impl Conversation {
    fn pieces(&self) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut message = |role: Role, text: String| {
            pieces.extend([Piece::Format(START), Piece::Text(role.as_str().into()), Piece::Format(MESSAGE)]);
            pieces.extend([Piece::Text(text), Piece::Format(END)]);
        };
        message(Role::System, self.system.content());
        if let Some(instructions) = &self.developer_instructions {
            message(Role::Developer, format!("# Instructions\n\n{instructions}"));
        }
        for m in &self.messages {
            message_pieces(m, &mut pieces);
        }
        // `render_conversation_for_completion`: the model's turn begins.
        pieces.extend([Piece::Format(START), Piece::Text(Role::Assistant.as_str().into())]);
        pieces
    }

    /// The completion prompt as text (format tokens spelled out).
    pub fn prompt_text(&self) -> String {
        self.pieces()
            .iter()
            .map(|p| match p {
                Piece::Format(s) => *s,
                Piece::Text(s) => s.as_str(),
            })
            .collect()
    }

    /// The completion prompt as token ids, exactly as Harmony renders it.
    pub fn prompt_ids(&self, tokenizer: &Tokenizer) -> Result<Vec<u32>> {
        piece_ids(tokenizer, self.pieces())
    }

    /// The completion prompt followed by `reply`, the assistant messages the model should generate after it
    /// (e.g. analysis, then final), ending with `<|return|>`, the stop token, where the last message would end with
    /// `<|end|>` (§7.4): the ids a model is trained on. The first `prompt_ids(..).len()` ids are the prompt.
    pub fn completion_ids(&self, tokenizer: &Tokenizer, reply: &[Message]) -> Result<Vec<u32>> {
        if reply.is_empty() || reply.iter().any(|m| m.role != Role::Assistant || m.recipient.is_some()) {
            return Err(Error::Usage("a reply is one or more assistant messages to no tool".into()));
        }
        let mut whole = self.clone();
        whole.messages.extend_from_slice(reply);
        let mut pieces = whole.pieces();
        // Without the next turn's `<|start|>assistant`; the prompt's own ends where the reply's first header begins.
        pieces.truncate(pieces.len() - 2);
        let last = pieces.last_mut().expect("a reply message ends with a format token");
        *last = Piece::Format(RETURN);
        piece_ids(tokenizer, pieces)
    }
}

fn piece_ids(tokenizer: &Tokenizer, pieces: Vec<Piece>) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Format(s) => ids.push(format_id(tokenizer, s)?),
            Piece::Text(s) => ids.extend(tokenizer.encode_ordinary(&s)?),
        }
    }
    Ok(ids)
}

fn message_pieces(m: &Message, pieces: &mut Vec<Piece>) {
    pieces.extend([Piece::Format(START), Piece::Text(m.role.as_str().into())]);
    if let Some(recipient) = m.recipient.as_deref().filter(|r| *r != "all") {
        pieces.push(Piece::Text(format!(" to={recipient}")));
    }
    if let Some(channel) = m.channel {
        pieces.extend([Piece::Format(CHANNEL), Piece::Text(channel.as_str().into())]);
    }
    if let Some(content_type) = &m.content_type {
        match content_type.strip_prefix(CONSTRAIN) {
            Some(rest) => {
                pieces.extend([Piece::Text(" ".into()), Piece::Format(CONSTRAIN)]);
                if !rest.is_empty() {
                    pieces.push(Piece::Text(rest.into()));
                }
            }
            None => pieces.push(Piece::Text(format!(" {content_type}"))),
        }
    }
    pieces.extend([Piece::Format(MESSAGE), Piece::Text(m.content.clone())]);
    let to_tool = m.role == Role::Assistant && m.recipient.is_some();
    pieces.push(Piece::Format(if to_tool { CALL } else { END }));
}

fn format_id(tokenizer: &Tokenizer, text: &'static str) -> Result<u32> {
    tokenizer.token_id(text).ok_or_else(|| Error::Tokenizer(format!("the vocabulary has no Harmony token `{text}`")))
}

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
    Some(Message { role, recipient, channel, content_type, content: String::new() })
}
