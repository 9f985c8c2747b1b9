//! A chat: a Harmony [`Conversation`] that grows turn by turn, and the ids the backend's KV cache holds, so that
//! each turn prefills only what its prompt does not share with them. The prompt is rendered whole every turn (the
//! rendering may change earlier text, e.g. Harmony drops an answered turn's analysis); the longest prefix it has in
//! common with the cache is kept, the cache is rolled back to there, and the rest is run.

use crate::events::EventSink;
use crate::generate::{generate_after, Backend, GenerateOptions, Generation};
use crate::harmony::{Conversation, Message, Parsed, Role};
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// How a turn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEnd {
    /// `<|return|>`: the answer is complete.
    Answered,
    /// `<|call|>` to `functions.NAME`: the conversation waits for the tool's output ([`Chat::tool_result`]).
    ToolCall { name: String, arguments: String, content_type: Option<String> },
    /// The token limit, a stop, or the context window: the last message is kept as far as it got.
    Cut { stopped_by: String },
}

/// One turn's outcome.
#[derive(Debug, Clone)]
pub struct Turn {
    pub generation: Generation,
    pub reply: Reply,
}

/// What a turn added to the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Messages added to the conversation, in order.
    pub messages: Vec<Message>,
    /// Output that was not a well-formed message (shown, but not kept in the history: Harmony has no place for it).
    pub raw: Vec<String>,
    pub end: TurnEnd,
}

/// A conversation and what the KV cache holds of it.
#[derive(Debug, Clone, Default)]
pub struct Chat {
    pub conversation: Conversation,
    /// The ids at the backend's positions 0..len, as far as this chat has put them there.
    cached: Vec<u32>,
}

impl Chat {
    pub fn new(conversation: Conversation) -> Chat {
        Chat { conversation, cached: Vec::new() }
    }

    /// The ids the KV cache holds for this chat.
    pub fn cached(&self) -> &[u32] {
        &self.cached
    }

    /// The backend's cache no longer holds what this chat put there (it was reset or used for something else).
    pub fn forget_cache(&mut self) {
        self.cached.clear();
    }

    /// Add a user message.
    pub fn user(&mut self, text: impl Into<String>) -> Result<()> {
        if let Some(call) = self.conversation.pending_call() {
            return Err(Error::Usage(format!(
                "the assistant waits for the output of `{}`; give it before the next user message",
                call.recipient.as_deref().unwrap_or_default()
            )));
        }
        self.conversation.messages.push(Message::user(text));
        Ok(())
    }

    /// Give the output of the pending tool call.
    pub fn tool_result(&mut self, output: impl Into<String>) -> Result<()> {
        let recipient = self
            .conversation
            .pending_call()
            .and_then(|m| m.recipient.clone())
            .ok_or_else(|| Error::Usage("no tool call waits for its output".into()))?;
        self.conversation.messages.push(Message::tool_result(&recipient, output));
        Ok(())
    }

    /// Take back the assistant's messages since the last user or tool message, so the next turn answers again.
    pub fn undo_reply(&mut self) -> usize {
        let messages = &mut self.conversation.messages;
        let keep = messages.iter().rposition(|m| m.role != Role::Assistant).map_or(0, |i| i + 1);
        let removed = messages.len() - keep;
        messages.truncate(keep);
        removed
    }

    /// Forget every message (the system and developer messages stay, and so does their cached prefix).
    pub fn clear(&mut self) {
        self.conversation.messages.clear();
    }

    /// The prompt of the next turn, with how many of its ids the cache already holds.
    pub fn next_prompt(&self, tokenizer: &Tokenizer) -> Result<(Vec<u32>, usize)> {
        let prompt = self.conversation.prompt_ids(tokenizer)?;
        let common = prompt.iter().zip(&self.cached).take_while(|(a, b)| a == b).count();
        Ok((prompt, common))
    }

    /// Generate the assistant's next turn on `backend` (which must hold this chat's cache: one chat per backend)
    /// and add what it wrote to the conversation. The prompt must leave room in the context window for at least
    /// one token; generation stops at the window (`context_full`), never truncating the history.
    pub async fn generate(
        &mut self,
        backend: &mut Backend,
        tokenizer: &Tokenizer,
        options: &GenerateOptions,
        events: &mut dyn EventSink,
        keep_going: impl FnMut() -> bool,
    ) -> Result<Turn> {
        let (prompt, common) = self.next_prompt(tokenizer)?;
        let window = backend.context();
        if prompt.len() >= window {
            return Err(Error::Usage(format!(
                "the conversation is {} tokens and the context window {window}: nothing fits after it (clear the \
                 chat, or load with a larger context)",
                prompt.len()
            )));
        }
        // The last prompt token is always run: its logits give the first new token.
        let reused = backend.rewind(common.min(prompt.len() - 1));
        self.cached.truncate(reused);
        let room = window - prompt.len();
        let limited = GenerateOptions { max_new_tokens: options.max_new_tokens.min(room), ..options.clone() };
        let mut generation = generate_after(backend, tokenizer, &prompt, reused, &limited, events, keep_going).await?;
        // Everything sampled but the last id was run, so the cache now holds the prompt and those.
        self.cached = prompt;
        self.cached.extend(&generation.ids[..generation.ids.len().saturating_sub(1)]);
        if generation.stats.stopped_by == "max_new_tokens" && limited.max_new_tokens == room {
            generation.stats.stopped_by = "context_full".into();
        }
        let reply = self.record(&generation.parsed, &generation.stats.stopped_by);
        Ok(Turn { generation, reply })
    }

    /// Add a generation's parsed output to the conversation; `stopped_by` is how it ended
    /// ([`crate::events::GenerationStats::stopped_by`]).
    pub fn record(&mut self, parsed: &[Parsed], stopped_by: &str) -> Reply {
        let mut messages = Vec::new();
        let mut raw = Vec::new();
        for parsed in parsed {
            match parsed {
                Parsed::Message(m) => messages.push(m.clone()),
                Parsed::Raw(text) => raw.push(text.clone()),
            }
        }
        let end = match messages.last() {
            Some(m) if stopped_by == "stop_token" => match m.called_function() {
                Some(name) => TurnEnd::ToolCall {
                    name: name.to_owned(),
                    arguments: m.content.clone(),
                    content_type: m.content_type.clone(),
                },
                None => TurnEnd::Answered,
            },
            _ => TurnEnd::Cut { stopped_by: stopped_by.to_owned() },
        };
        self.conversation.messages.extend(messages.iter().cloned());
        Reply { messages, raw, end }
    }
}
