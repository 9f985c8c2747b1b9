//! Our Harmony rendering against openai-harmony 0.0.8's, byte for byte and id for id, on the conversations in
//! `tests/harmony/conversations.json`: multi-turn history with analysis dropped, developer instructions, function
//! tools with nested JSON schemas, calls and their results, every reasoning effort. `expected.json` is what
//! `scripts/harmony_reference.py` gets from openai-harmony itself (the test command re-checks it there).

mod support;

use gptoss_engine::harmony::{
    Channel, Conversation, FunctionTool, JsonValue, Message, ReasoningEffort, Role, SystemMessage,
};
use gptoss_engine::tokenizer::Tokenizer;
use serde::Deserialize;

#[derive(Deserialize)]
struct Cases<T> {
    conversations: Vec<T>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    system: SystemSpec,
    developer: Option<DeveloperSpec>,
    messages: Vec<MessageSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SystemSpec {
    reasoning_effort: Option<String>,
    current_date: Option<String>,
    model_identity: Option<String>,
    knowledge_cutoff: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeveloperSpec {
    instructions: Option<String>,
    #[serde(default)]
    tools: Vec<ToolSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolSpec {
    name: String,
    description: String,
    parameters: Option<JsonValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageSpec {
    role: String,
    name: Option<String>,
    channel: Option<String>,
    recipient: Option<String>,
    content_type: Option<String>,
    content: String,
}

#[derive(Deserialize)]
struct Expected {
    name: String,
    text: String,
    ids: Vec<u32>,
}

fn effort(name: &str) -> ReasoningEffort {
    match name {
        "low" => ReasoningEffort::Low,
        "medium" => ReasoningEffort::Medium,
        "high" => ReasoningEffort::High,
        other => panic!("unknown reasoning effort `{other}`"),
    }
}

fn message(spec: MessageSpec) -> Message {
    let role = match spec.role.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => panic!("unknown role `{other}`"),
    };
    let channel = spec.channel.map(|c| {
        *Channel::ALL.iter().find(|known| known.as_str() == c).unwrap_or_else(|| panic!("unknown channel `{c}`"))
    });
    Message {
        role,
        name: spec.name,
        recipient: spec.recipient,
        channel,
        content_type: spec.content_type,
        content: spec.content,
    }
}

fn conversation(case: Case) -> Conversation {
    let defaults = SystemMessage::default();
    let s = case.system;
    let system = SystemMessage {
        model_identity: s.model_identity.unwrap_or(defaults.model_identity),
        knowledge_cutoff: s.knowledge_cutoff.unwrap_or(defaults.knowledge_cutoff),
        current_date: s.current_date,
        reasoning_effort: s.reasoning_effort.as_deref().map_or(defaults.reasoning_effort, effort),
    };
    let (developer_instructions, tools) = match case.developer {
        Some(d) => (
            d.instructions,
            d.tools
                .into_iter()
                .map(|t| FunctionTool { name: t.name, description: t.description, parameters: t.parameters })
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    Conversation { system, developer_instructions, tools, messages: case.messages.into_iter().map(message).collect() }
}

fn read<T: for<'de> Deserialize<'de>>(file: &str) -> Vec<T> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harmony").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Cases<T>>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())).conversations
}

#[test]
fn renders_every_reference_conversation_exactly_as_openai_harmony() {
    let (header, _) = support::tiny();
    let tokenizer = Tokenizer::from_gguf(&header).expect("tokenizer from tiny.gguf");
    let cases: Vec<Case> = read("conversations.json");
    let expected: Vec<Expected> = read("expected.json");
    assert!(cases.len() >= 20, "{} conversations; the proof wants at least 20", cases.len());
    assert_eq!(cases.len(), expected.len(), "conversations.json and expected.json list the same conversations");
    for (case, want) in cases.into_iter().zip(expected) {
        assert_eq!(case.name, want.name, "conversations.json and expected.json are in the same order");
        let name = case.name.clone();
        let convo = conversation(case);
        assert_eq!(convo.prompt_text(), want.text, "{name}: prompt text");
        assert_eq!(convo.prompt_ids(&tokenizer).expect("render"), want.ids, "{name}: token ids");
    }
}
