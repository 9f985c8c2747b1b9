//! The chat on the engine's side: what the page asks ([`ChatRequest`]), the turn it runs on the loaded model
//! ([`chat_turn`], through the engine's [`Chat`], which prefills only what the KV cache lacks), and what the HUD
//! shows of the conversation ([`ChatSnapshot`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gptoss_engine::chat::{Chat, TurnEnd};
use gptoss_engine::events::GenerationStats;
use gptoss_engine::generate::{Backend, GenerateOptions};
use gptoss_engine::harmony::{Channel, FunctionTool, JsonValue, Message, Role};
use gptoss_engine::sampler::SamplerConfig;
use gptoss_engine::tokenizer::Tokenizer;
use gptoss_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::engine_host::{Queue, Settings};
use crate::hud::Update;

/// One chat action with the settings and developer message it runs under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Sampling, reasoning effort, token limit; context and experts when the model still has to load.
    pub settings: Settings,
    pub developer: DeveloperSpec,
    pub action: ChatAction,
}

/// The developer message as the page's text boxes hold it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeveloperSpec {
    /// Empty for none.
    pub instructions: String,
    /// A JSON array of `{"name", "description", "parameters": JSON schema}`; empty for no tools.
    pub tools: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChatAction {
    /// A user message, or the pending tool call's output.
    Send(String),
    /// Take back the assistant's last reply and answer again.
    Regenerate,
    /// Replace the history with messages written by hand (a JSON array, see [`parse_history`]), e.g. a tool call
    /// to answer; nothing is generated.
    SetHistory(String),
}

/// A message as the chat view shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatLine {
    /// `user`, `assistant`, or a tool's name.
    pub author: String,
    pub channel: Option<String>,
    /// A call's tool (`functions.NAME`), or `assistant` for a tool's output.
    pub recipient: Option<String>,
    /// A call's constraint (`<|constrain|>json`).
    pub content_type: Option<String>,
    pub content: String,
}

/// The conversation and how much of the context window it fills.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatSnapshot {
    pub messages: Vec<ChatLine>,
    /// The last message is a tool call waiting for its output.
    pub waiting_for_tool: bool,
    /// The last turn's prompt, of which `reused_tokens` came from the KV cache.
    pub prompt_tokens: usize,
    pub reused_tokens: usize,
    /// Positions the conversation's cache holds now, and the window.
    pub cached_tokens: usize,
    pub context: usize,
    /// Output of the last turn that was not a well-formed message (not kept in the history).
    pub raw: Vec<String>,
}

impl ChatSnapshot {
    pub fn of(chat: &Chat, context: usize, stats: Option<&GenerationStats>, raw: Vec<String>) -> ChatSnapshot {
        let messages = chat
            .conversation
            .messages
            .iter()
            .map(|m: &Message| ChatLine {
                author: match (m.role, &m.name) {
                    (Role::Tool, Some(name)) => name.clone(),
                    (role, _) => role.as_str().to_owned(),
                },
                channel: m.channel.map(|c| c.as_str().to_owned()),
                recipient: m.recipient.clone(),
                content_type: m.content_type.clone(),
                content: m.content.clone(),
            })
            .collect();
        ChatSnapshot {
            messages,
            waiting_for_tool: chat.conversation.pending_call().is_some(),
            prompt_tokens: stats.map_or(0, |s| s.prompt_tokens),
            reused_tokens: stats.map_or(0, |s| s.reused_tokens),
            cached_tokens: chat.cached().len(),
            context,
            raw,
        }
    }
}

/// The tools box's text as function tools; every error names the tool (by position) and what is wrong.
pub fn parse_tools(text: &str) -> Result<Vec<FunctionTool>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value = JsonValue::parse(text, "the tools")?;
    let items = value.as_array().ok_or_else(|| Error::Usage("the tools: a JSON array of tool objects".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = |key: &str| item.get(key).and_then(JsonValue::as_str);
            let name = field("name").ok_or_else(|| Error::Usage(format!("tool {}: no \"name\" string", i + 1)))?;
            let schema = item.get("parameters").map(JsonValue::to_string).unwrap_or_default();
            FunctionTool::new(name, field("description").unwrap_or_default(), &schema)
        })
        .collect()
}

/// A history typed by hand: a JSON array of `{"role": "user" | "assistant" | "tool", "content", "channel"?,
/// "recipient"?, "content_type"?, "name"?}` (a tool message's `name` is the tool, `functions.NAME`).
pub fn parse_history(text: &str) -> Result<Vec<Message>> {
    let value = JsonValue::parse(text, "the history")?;
    let items = value.as_array().ok_or_else(|| Error::Usage("the history: a JSON array of messages".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = |what: String| Error::Usage(format!("history message {}: {what}", i + 1));
            let field = |key: &str| item.get(key).and_then(JsonValue::as_str).map(str::to_owned);
            let role = match field("role").as_deref() {
                Some("user") => Role::User,
                Some("assistant") => Role::Assistant,
                Some("tool") => Role::Tool,
                other => return Err(at(format!("role {other:?} is not user, assistant or tool"))),
            };
            let channel = match field("channel") {
                Some(name) => Some(
                    Channel::ALL
                        .into_iter()
                        .find(|c| c.as_str() == name)
                        .ok_or_else(|| at(format!("channel `{name}` is not analysis, commentary or final")))?,
                ),
                None => None,
            };
            let name = field("name");
            if role == Role::Tool && name.is_none() {
                return Err(at("a tool message names its tool (\"name\": \"functions.NAME\")".into()));
            }
            let content = field("content").ok_or_else(|| at("no \"content\" string".into()))?;
            Ok(Message {
                role,
                name,
                recipient: field("recipient"),
                channel,
                content_type: field("content_type"),
                content,
            })
        })
        .collect()
}

/// Applies `request` to `chat` and, unless it only changed the history, generates the next turn on `backend`,
/// streaming its tokens and ending with the conversation's new snapshot.
pub async fn chat_turn(
    chat: &RefCell<Chat>,
    backend: &mut Backend,
    tokenizer: &Tokenizer,
    request: &ChatRequest,
    queue: &Queue,
    stop: Rc<Cell<bool>>,
) -> Result<()> {
    let tools = parse_tools(&request.developer.tools)?;
    let context = backend.context();
    // The chat is taken out while the turn runs: no borrow is held across an await.
    let mut current = chat.take();
    let conversation = &mut current.conversation;
    conversation.tools = tools;
    let instructions = request.developer.instructions.trim();
    conversation.developer_instructions = (!instructions.is_empty()).then(|| instructions.to_owned());
    conversation.system.reasoning_effort = request.settings.effort;
    let added = match &request.action {
        ChatAction::Send(text) if current.conversation.pending_call().is_some() => current.tool_result(text.clone()),
        ChatAction::Send(text) => current.user(text.clone()),
        ChatAction::SetHistory(text) => {
            let history = parse_history(text);
            if let Ok(messages) = &history {
                current.conversation.messages = messages.clone();
            }
            let snapshot = ChatSnapshot::of(&current, context, None, Vec::new());
            *chat.borrow_mut() = current;
            queue.push(Update::Chat(snapshot));
            return history.map(drop);
        }
        ChatAction::Regenerate => {
            current.undo_reply();
            match current.conversation.messages.last() {
                Some(_) => Ok(()),
                None => Err(Error::Usage("nothing to answer again: the chat is empty".into())),
            }
        }
    };
    if let Err(e) = added {
        *chat.borrow_mut() = current;
        return Err(e);
    }
    queue.push(Update::Chat(ChatSnapshot::of(&current, context, None, Vec::new())));
    let (prompt, _) = current.next_prompt(tokenizer)?;
    queue.push(Update::GenerationStarted { prompt_tokens: prompt.len() });
    let s = &request.settings;
    let options = GenerateOptions {
        max_new_tokens: s.max_new_tokens,
        sampler: SamplerConfig { temperature: s.temperature, top_k: s.top_k, top_p: s.top_p, seed: s.seed },
    };
    let mut sink = queue.sink();
    let result = current.generate(backend, tokenizer, &options, &mut sink, move || !stop.get()).await;
    let snapshot = match &result {
        Ok(turn) => {
            if let TurnEnd::ToolCall { name, .. } = &turn.reply.end {
                queue.push(Update::Log(gptoss_components::Tone::Data, format!("the model calls functions.{name}")));
            }
            ChatSnapshot::of(&current, context, Some(&turn.generation.stats), turn.reply.raw.clone())
        }
        Err(_) => ChatSnapshot::of(&current, context, None, Vec::new()),
    };
    *chat.borrow_mut() = current;
    queue.push(Update::Chat(snapshot));
    result.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_box_text_is_validated_with_the_tool_named() {
        assert_eq!(parse_tools("  ").unwrap(), Vec::new());
        let tools = parse_tools(r#"[{"name": "now"}, {"name": "f", "parameters": {"type": "object"}}]"#).unwrap();
        assert_eq!(tools.len(), 2);
        assert!(parse_tools("[{").unwrap_err().to_string().contains("not valid JSON"));
        assert!(parse_tools(r#"{"name": "f"}"#).unwrap_err().to_string().contains("a JSON array"));
        assert!(parse_tools(r#"[{"description": "x"}]"#).unwrap_err().to_string().contains("tool 1: no \"name\""));
        let bad_schema = parse_tools(r#"[{"name": "f", "parameters": 3}]"#).unwrap_err().to_string();
        assert!(bad_schema.contains("tool `f`'s parameter schema"), "{bad_schema}");
    }

    #[test]
    fn a_hand_written_call_is_a_pending_call_in_the_snapshot() {
        let history = parse_history(
            r#"[{"role": "user", "content": "Look up car."},
                {"role": "assistant", "channel": "commentary", "recipient": "functions.lookup",
                 "content_type": "<|constrain|>json", "content": "{\"word\":\"car\"}"}]"#,
        )
        .unwrap();
        let mut chat = Chat::default();
        chat.conversation.messages = history;
        let snapshot = ChatSnapshot::of(&chat, 4096, None, Vec::new());
        assert!(snapshot.waiting_for_tool);
        assert_eq!(snapshot.messages[1].recipient.as_deref(), Some("functions.lookup"));
        let no_name = parse_history(r#"[{"role": "tool", "content": "x"}]"#).unwrap_err().to_string();
        assert!(no_name.contains("history message 1") && no_name.contains("names its tool"), "{no_name}");
        let channel = parse_history(r#"[{"role": "user", "channel": "loud", "content": "x"}]"#).unwrap_err();
        assert!(channel.to_string().contains("channel `loud`"), "{channel}");
    }
}
