//! The CHAT panel: the conversation (analysis collapsible above each answer, tool calls as cards that take the
//! tool's output), the developer message (instructions, function tools as a validated JSON array), the context
//! window as a bar, and send / stop / regenerate / clear. Sampling and the reasoning effort are the CONTROLS'.
//! Each turn prefills only what the engine's KV cache does not hold yet; the tokens stream into OUTPUT and NEXT
//! TOKEN as any generation's do.

use dioxus::prelude::*;
use gptoss_components::{Button, ChatMessage, ContextBar, Readout, Tone, ToolCallCard};

use crate::chat_host::{parse_tools, ChatAction, ChatLine, ChatRequest, ChatSnapshot, DeveloperSpec};
use crate::session::{GptossSession, Settings};

const TOOLS_PLACEHOLDER: &str = r#"function tools, a JSON array: [{"name": "get_weather", "description": "…", "parameters": {"type": "object", …}}]"#;

const HISTORY_PLACEHOLDER: &str = r#"a history written by hand, e.g. a call to answer: [{"role": "user", "content": "…"}, {"role": "assistant", "channel": "commentary", "recipient": "functions.get_weather", "content_type": "<|constrain|>json", "content": "{…}"}]"#;

/// A message as the view lays it out: a call is shown with its output (the next message, from that tool).
enum Shown<'a> {
    Message(&'a ChatLine),
    Call { call: &'a ChatLine, output: Option<&'a ChatLine> },
}

fn layout(messages: &[ChatLine]) -> Vec<Shown<'_>> {
    let mut shown = Vec::new();
    let mut i = 0;
    while i < messages.len() {
        let m = &messages[i];
        let is_call = m.author == "assistant" && m.recipient.as_deref().is_some_and(|r| r.starts_with("functions."));
        if is_call {
            let output = messages.get(i + 1).filter(|next| Some(&next.author) == m.recipient.as_ref());
            i += 1 + usize::from(output.is_some());
            shown.push(Shown::Call { call: m, output });
        } else {
            i += 1;
            shown.push(Shown::Message(m));
        }
    }
    shown
}

#[component]
pub fn ChatPanel(
    app: GptossSession,
    /// Read when a turn is sent, so typing in the CONTROLS does not re-render the chat.
    settings: ReadSignal<Settings>,
    chat: ReadSignal<ChatSnapshot>,
    busy: bool,
    device_ready: bool,
) -> Element {
    let mut input = use_signal(String::new);
    let mut instructions = use_signal(String::new);
    let mut tools = use_signal(String::new);
    let mut history = use_signal(String::new);
    let tools_error = parse_tools(&tools.read()).err().map(|e| e.to_string());
    let developer = DeveloperSpec { instructions: instructions(), tools: tools() };
    let request =
        move |action: ChatAction| ChatRequest { settings: settings.cloned(), developer: developer.clone(), action };
    let blocked = busy || !device_ready || tools_error.is_some();
    let chat = chat.read();
    let shown = layout(&chat.messages);
    let newest = shown.len().saturating_sub(1);
    let send = {
        let (app, request) = (app.clone(), request.clone());
        move |_| {
            let text = input();
            if !text.trim().is_empty() {
                app.chat(request(ChatAction::Send(text)));
                input.set(String::new());
            }
        }
    };
    rsx! {
        div { id: "chat", class: "hud-chat",
            "data-messages": chat.messages.len(),
            "data-waiting-for-tool": chat.waiting_for_tool.to_string(),
            div { class: "hud-chat-developer",
                textarea { id: "chat-instructions", placeholder: "developer instructions (optional)",
                    value: instructions(), disabled: busy, oninput: move |e| instructions.set(e.value()) }
                textarea { id: "chat-tools",
                    placeholder: TOOLS_PLACEHOLDER,
                    value: tools(), disabled: busy, oninput: move |e| tools.set(e.value()) }
                if let Some(error) = tools_error {
                    Readout { id: "chat-tools-error", label: "TOOLS", tone: Tone::Error, {error} }
                }
                textarea { id: "chat-history", placeholder: HISTORY_PLACEHOLDER,
                    value: history(), disabled: busy, oninput: move |e| history.set(e.value()) }
                Button { id: "chat-set-history", disabled: blocked || history.read().trim().is_empty(),
                    onclick: { let app = app.clone(); let request = request.clone(); move |_| app.chat(request(ChatAction::SetHistory(history()))) },
                    "SET HISTORY" }
            }
            ContextBar { id: "chat-context", used: chat.cached_tokens, window: chat.context,
                reused: chat.reused_tokens, prompt: chat.prompt_tokens }
            div { class: "hud-chat-messages",
                for (i, shown) in shown.into_iter().enumerate() {
                    match shown {
                        Shown::Message(m) => rsx! {
                            ChatMessage { key: "{i}", author: m.author.clone(), channel: m.channel.clone(),
                                text: m.content.clone(), open: i == newest }
                        },
                        Shown::Call { call, output } => {
                            let app = app.clone();
                            let request = request.clone();
                            rsx! {
                                ToolCallCard { key: "{i}", tool: call.recipient.clone().unwrap_or_default(),
                                    arguments: call.content.clone(), constraint: call.content_type.clone(),
                                    output: output.map(|o| o.content.clone()), disabled: blocked,
                                    onresult: move |text: String| app.chat(request(ChatAction::Send(text))) }
                            }
                        }
                    }
                }
            }
            if !chat.raw.is_empty() {
                Readout { id: "chat-raw", label: "RAW", tone: Tone::Warning,
                    "the last turn wrote {chat.raw.len()} piece(s) of malformed Harmony, shown in OUTPUT but not kept in the history" }
            }
            textarea { id: "chat-input", placeholder: "your message", value: input(),
                disabled: busy || chat.waiting_for_tool, oninput: move |e| input.set(e.value()) }
            div { class: "hud-chat-actions",
                Button { id: "chat-send", disabled: blocked || chat.waiting_for_tool || input.read().trim().is_empty(),
                    busy, onclick: send, "SEND" }
                Button { id: "chat-stop", disabled: !busy, onclick: { let app = app.clone(); move |_| app.stop() }, "STOP" }
                Button { id: "chat-regenerate", disabled: blocked || chat.messages.is_empty(),
                    onclick: { let app = app.clone(); let request = request.clone(); move |_| app.chat(request(ChatAction::Regenerate)) },
                    "REGENERATE" }
                Button { id: "chat-clear", disabled: busy || chat.messages.is_empty(),
                    onclick: move |_| app.clear_chat(), "CLEAR" }
            }
        }
    }
}
