//! Rendering a conversation into the completion prompt, as openai-harmony 0.0.8's
//! `render_conversation_for_completion` does.

use super::tools::{tools_section, FunctionTool};
use super::{format_id, Channel, Message, Role, SystemMessage, CALL, CHANNEL, CONSTRAIN, END, MESSAGE, RETURN, START};
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// A conversation up to the model's next turn: the system message, the developer message (instructions and
/// function tools) and every message since, analysis included. What the prompt leaves out is decided when it is
/// rendered, so the history itself loses nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conversation {
    pub system: SystemMessage,
    /// The developer message's `# Instructions` section (Harmony's form, without the trailing blank line
    /// llama.cpp's Jinja template adds, §7.3).
    pub developer_instructions: Option<String>,
    /// The developer message's `# Tools` section: the `functions` namespace.
    pub tools: Vec<FunctionTool>,
    /// User, assistant and tool messages, in order.
    pub messages: Vec<Message>,
}

/// A piece of a rendered prompt: a format token, or text encoded on its own.
enum Piece {
    Format(&'static str),
    Text(String),
}

impl Conversation {
    /// The messages the prompt shows. Harmony's rule: when the last assistant message is a final answer, analysis
    /// messages before the first final answer are dropped (the chain of thought of an answered turn is not shown
    /// again; during a tool-calling turn it is kept).
    fn shown_messages(&self) -> impl Iterator<Item = &Message> {
        let answered = self
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .is_some_and(|m| m.channel == Some(Channel::Final));
        let first_final = self.messages.iter().position(|m| m.channel == Some(Channel::Final));
        self.messages.iter().enumerate().filter_map(move |(i, m)| {
            let dropped = answered && first_final.is_some_and(|f| i < f) && m.channel == Some(Channel::Analysis);
            (!dropped).then_some(m)
        })
    }

    /// The developer message's text, when it has instructions or tools.
    fn developer_content(&self) -> Option<String> {
        let mut sections = Vec::new();
        if let Some(instructions) = &self.developer_instructions {
            sections.extend(["# Instructions".to_owned(), instructions.clone()]);
        }
        if !self.tools.is_empty() {
            sections.push(tools_section(&self.tools));
        }
        (!sections.is_empty()).then(|| sections.join("\n\n"))
    }

    /// Everything up to (not including) the next turn's `<|start|>assistant`.
    fn history_pieces(&self) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut message = |role: Role, text: String| {
            pieces.extend([Piece::Format(START), Piece::Text(role.as_str().into()), Piece::Format(MESSAGE)]);
            pieces.extend([Piece::Text(text), Piece::Format(END)]);
        };
        message(Role::System, self.system.content(!self.tools.is_empty()));
        if let Some(developer) = self.developer_content() {
            message(Role::Developer, developer);
        }
        for m in self.shown_messages() {
            message_pieces(m, &mut pieces);
        }
        pieces
    }

    fn pieces(&self) -> Vec<Piece> {
        let mut pieces = self.history_pieces();
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
    /// `<|end|>` (§7.4): the ids a model is trained on. The first `prompt_ids(..).len()` ids are the prompt; the
    /// reply is shown whole (its analysis included).
    pub fn completion_ids(&self, tokenizer: &Tokenizer, reply: &[Message]) -> Result<Vec<u32>> {
        if reply.is_empty() || reply.iter().any(|m| m.role != Role::Assistant || m.recipient.is_some()) {
            return Err(Error::Usage("a reply is one or more assistant messages to no tool".into()));
        }
        let mut pieces = self.history_pieces();
        for m in reply {
            message_pieces(m, &mut pieces);
        }
        pieces.pop();
        pieces.push(Piece::Format(RETURN));
        piece_ids(tokenizer, pieces)
    }

    /// The function tool called by the last message, when the conversation waits for that tool's output.
    pub fn pending_call(&self) -> Option<&Message> {
        self.messages.last().filter(|m| m.called_function().is_some())
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
    pieces.push(Piece::Format(START));
    match (&m.name, m.role) {
        (Some(name), Role::Tool) => pieces.push(Piece::Text(name.clone())),
        (Some(name), role) => pieces.extend([Piece::Text(role.as_str().into()), Piece::Text(format!(":{name}"))]),
        (None, role) => pieces.push(Piece::Text(role.as_str().into())),
    }
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
