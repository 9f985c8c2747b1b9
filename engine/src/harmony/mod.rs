//! Harmony, the chat format gpt-oss was trained on (`gpt-oss.md` §7): render a conversation into the prompt the
//! model expects (`render.rs`, tools in `tools.rs`), and parse the tokens it generates back into messages, token by
//! token (`parser.rs`).
//!
//! Rendering follows openai-harmony 0.0.8: each piece of header or content text is encoded on its own as plain text
//! (`encode_ordinary`), and the format tokens are inserted by id, so the ids match its
//! `render_conversation_for_completion` exactly (`tests/harmony_reference.rs`) and user text cannot forge a
//! `<|end|>`.

mod json;
mod parser;
mod render;
mod tools;

pub use json::JsonValue;
pub use parser::{HarmonyParser, Parsed, Step, TokenPart, TokenTag};
pub use render::Conversation;
pub use tools::{FunctionTool, FUNCTIONS};

use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

const START: &str = "<|start|>";
const END: &str = "<|end|>";
const MESSAGE: &str = "<|message|>";
const CHANNEL: &str = "<|channel|>";
const CONSTRAIN: &str = "<|constrain|>";
const RETURN: &str = "<|return|>";
const CALL: &str = "<|call|>";

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
    /// The message text: identity block, reasoning line, valid-channels line, joined by blank lines. With function
    /// tools anywhere in the conversation the channels line says where their calls go.
    fn content(&self, has_function_tools: bool) -> String {
        let mut top = vec![self.model_identity.clone(), format!("Knowledge cutoff: {}", self.knowledge_cutoff)];
        if let Some(date) = &self.current_date {
            top.push(format!("Current date: {date}"));
        }
        [
            top.join("\n"),
            format!("Reasoning: {}", self.reasoning_effort.as_str()),
            format!(
                "# Valid channels: {}. Channel must be included for every message.{}",
                Channel::ALL.map(Channel::as_str).join(", "),
                if has_function_tools {
                    "\nCalls to these tools must go to the commentary channel: 'functions'."
                } else {
                    ""
                }
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
    /// A tool's output; rendered by the tool's name (`functions.get_weather`) in place of the role.
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
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

/// One Harmony message: `<|start|>{author}[ to={recipient}][<|channel|>{channel}][ {content_type}]<|message|>{content}`
/// then `<|end|>`, or `<|call|>` for an assistant message addressed to a tool. The author is the role, `role:name`
/// when named, and a tool's bare name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    /// The author's name; a tool message's is the tool (`functions.get_weather`).
    pub name: Option<String>,
    pub recipient: Option<String>,
    pub channel: Option<Channel>,
    /// `json`, or `<|constrain|>json` (the marker is rendered as its special token).
    pub content_type: Option<String>,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            name: None,
            recipient: None,
            channel: None,
            content_type: None,
            content: content.into(),
        }
    }

    /// The assistant's chain of thought (what a model trained to reason writes before its final answer).
    pub fn assistant_analysis(content: impl Into<String>) -> Self {
        Message { channel: Some(Channel::Analysis), ..Message::assistant_final(content) }
    }

    /// An answer. Once the conversation's last assistant message is a final answer, analysis before the first
    /// final answer is left out of the prompt ([`Conversation`]).
    pub fn assistant_final(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            name: None,
            recipient: None,
            channel: Some(Channel::Final),
            content_type: None,
            content: content.into(),
        }
    }

    /// The assistant calling `functions.{tool}` with JSON `arguments` (the form gpt-oss writes: commentary channel,
    /// `<|constrain|>json`, ended by `<|call|>`).
    pub fn tool_call(tool: &str, arguments: impl Into<String>) -> Self {
        Message {
            recipient: Some(format!("{FUNCTIONS}.{tool}")),
            channel: Some(Channel::Commentary),
            content_type: Some(format!("{CONSTRAIN}json")),
            ..Message::assistant_final(arguments)
        }
    }

    /// The output of `recipient` (a call's recipient, `functions.NAME`), addressed back to the assistant.
    pub fn tool_result(recipient: &str, output: impl Into<String>) -> Self {
        Message {
            role: Role::Tool,
            name: Some(recipient.to_owned()),
            recipient: Some(Role::Assistant.as_str().into()),
            channel: Some(Channel::Commentary),
            content_type: None,
            content: output.into(),
        }
    }

    /// A call to a function tool: its name, when this is an assistant message to `functions.NAME`.
    pub fn called_function(&self) -> Option<&str> {
        let recipient = self.recipient.as_deref().filter(|_| self.role == Role::Assistant)?;
        recipient.strip_prefix(FUNCTIONS)?.strip_prefix('.')
    }
}

fn format_id(tokenizer: &Tokenizer, text: &'static str) -> Result<u32> {
    tokenizer.token_id(text).ok_or_else(|| Error::Tokenizer(format!("the vocabulary has no Harmony token `{text}`")))
}
