//! Tool calls in a chat: the model's `<|call|>` to `functions.NAME` is recorded as a call, the caller's output goes
//! back as a tool message, and the next prompt is the one openai-harmony renders for that conversation
//! (`tests/harmony/expected.json`, case `tool_result`). Tool definitions typed by a user are validated.

mod support;

use gptoss_engine::chat::{Chat, TurnEnd};
use gptoss_engine::harmony::{Conversation, FunctionTool, HarmonyParser};
use gptoss_engine::tokenizer::Tokenizer;

const WEATHER_SCHEMA: &str = r#"{"type": "object", "properties": {
    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
    "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
  "required": ["location"]}"#;

fn expected(name: &str) -> (String, Vec<u32>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harmony/expected.json");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let case = doc["conversations"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
    let ids = case["ids"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as u32).collect();
    (case["text"].as_str().unwrap().to_owned(), ids)
}

#[test]
fn a_call_is_recorded_its_result_given_and_the_prompt_is_harmonys() {
    let tok = Tokenizer::from_gguf(&support::tiny().0).unwrap();
    let weather =
        FunctionTool::new("get_weather", "Gets the current weather in the provided location.", WEATHER_SCHEMA)
            .expect("a valid tool");
    let mut chat = Chat::new(Conversation { tools: vec![weather], ..Default::default() });
    chat.user("Weather in SF?").unwrap();

    // What gpt-oss writes after `<|start|>assistant`: its thinking, then the call (recipient after the channel).
    let output = tok
        .encode(concat!(
            "<|channel|>analysis<|message|>Need the weather tool.<|end|>",
            "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json",
            r#"<|message|>{"location":"San Francisco, CA"}<|call|>"#
        ))
        .unwrap();
    let mut parser = HarmonyParser::for_completion(&tok).unwrap();
    let stops: Vec<bool> = output.iter().map(|&id| parser.push(&tok, id).unwrap().stop).collect();
    assert_eq!(stops.iter().filter(|&&s| s).count(), 1, "only <|call|> stops");
    let reply = chat.record(&parser.finish(&tok).unwrap(), "stop_token");
    assert_eq!(
        reply.end,
        TurnEnd::ToolCall {
            name: "get_weather".into(),
            arguments: r#"{"location":"San Francisco, CA"}"#.into(),
            content_type: Some("<|constrain|>json".into()),
        }
    );
    assert_eq!(reply.messages.len(), 2, "analysis and call");

    let refused = chat.user("Hello?").unwrap_err().to_string();
    assert!(refused.contains("functions.get_weather"), "{refused}");
    chat.tool_result(r#"{"sunny": true, "temperature": 20}"#).unwrap();
    assert!(chat.tool_result("twice").is_err(), "one output per call");

    let (text, ids) = expected("tool_result");
    assert_eq!(chat.conversation.prompt_text(), text);
    assert_eq!(chat.conversation.prompt_ids(&tok).unwrap(), ids);
}

#[test]
fn undo_reply_takes_back_the_assistants_last_messages() {
    let mut chat = Chat::new(Conversation::default());
    chat.user("q").unwrap();
    chat.conversation.messages.extend([
        gptoss_engine::harmony::Message::assistant_analysis("a"),
        gptoss_engine::harmony::Message::assistant_final("f"),
    ]);
    assert_eq!(chat.undo_reply(), 2);
    assert_eq!(chat.conversation.messages.len(), 1);
    chat.clear();
    assert!(chat.conversation.messages.is_empty());
}

#[test]
fn bad_tool_definitions_are_refused_with_what_is_wrong() {
    let name = FunctionTool::new("get weather", "", "").unwrap_err().to_string();
    assert!(name.contains("`get weather`"), "{name}");
    let json = FunctionTool::new("f", "", r#"{"type": "object",}"#).unwrap_err().to_string();
    assert!(json.contains("tool `f`'s parameter schema: not valid JSON") && json.contains("column"), "{json}");
    let not_object = FunctionTool::new("f", "", "[1, 2]").unwrap_err().to_string();
    assert!(not_object.contains("a JSON schema is an object"), "{not_object}");
    let twice = FunctionTool::new("f", "", r#"{"type": "object", "type": "string"}"#).unwrap_err().to_string();
    assert!(twice.contains("`type` appears twice"), "{twice}");
    assert_eq!(FunctionTool::new(" now ", "Time.", " ").unwrap().parameters, None, "no schema: () => any");
}
