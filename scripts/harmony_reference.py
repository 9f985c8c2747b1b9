"""Render engine/tests/harmony/conversations.json with openai-harmony (the reference implementation of the format)
and compare with engine/tests/harmony/expected.json, the text and token ids tests/harmony_reference.rs holds our
renderer to. `--write` rewrites expected.json instead.

Run in the virtual environment scripts/install.sh makes (.venv, openai-harmony==0.0.8), with
TIKTOKEN_ENCODINGS_BASE naming a folder that holds o200k_base.tiktoken (openai-harmony otherwise downloads it).
"""

import json
import pathlib
import sys

from openai_harmony import (
    Author,
    Conversation,
    DeveloperContent,
    HarmonyEncodingName,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    ToolDescription,
    load_harmony_encoding,
)

DATA = pathlib.Path(__file__).resolve().parent.parent / "engine" / "tests" / "harmony"
EFFORTS = {"low": ReasoningEffort.LOW, "medium": ReasoningEffort.MEDIUM, "high": ReasoningEffort.HIGH}
ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT, "tool": Role.TOOL}


def system_message(spec):
    content = SystemContent.new().with_reasoning_effort(EFFORTS[spec.get("reasoning_effort", "medium")])
    if "current_date" in spec:
        content = content.with_conversation_start_date(spec["current_date"])
    if "model_identity" in spec:
        content = content.with_model_identity(spec["model_identity"])
    if "knowledge_cutoff" in spec:
        content = content.with_knowledge_cutoff(spec["knowledge_cutoff"])
    return Message.from_role_and_content(Role.SYSTEM, content)


def developer_message(spec):
    content = DeveloperContent.new()
    if "instructions" in spec:
        content = content.with_instructions(spec["instructions"])
    tools = [ToolDescription.new(t["name"], t["description"], parameters=t.get("parameters")) for t in spec.get("tools", [])]
    if tools:
        content = content.with_function_tools(tools)
    return Message.from_role_and_content(Role.DEVELOPER, content)


def message(spec):
    author = Author(role=ROLES[spec["role"]], name=spec.get("name"))
    m = Message.from_author_and_content(author, spec["content"])
    if "channel" in spec:
        m = m.with_channel(spec["channel"])
    if "recipient" in spec:
        m = m.with_recipient(spec["recipient"])
    if "content_type" in spec:
        m = m.with_content_type(spec["content_type"])
    return m


def render(encoding, case):
    messages = [system_message(case.get("system", {}))]
    if "developer" in case:
        messages.append(developer_message(case["developer"]))
    messages += [message(m) for m in case["messages"]]
    ids = encoding.render_conversation_for_completion(Conversation.from_messages(messages), Role.ASSISTANT)
    return {"name": case["name"], "text": encoding.decode(ids), "ids": ids}


def main():
    encoding = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    cases = json.loads((DATA / "conversations.json").read_text())["conversations"]
    rendered = [render(encoding, case) for case in cases]
    expected_path = DATA / "expected.json"
    if sys.argv[1:] == ["--write"]:
        expected_path.write_text(json.dumps({"renderer": "openai-harmony 0.0.8", "conversations": rendered}, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {len(rendered)} conversations to {expected_path}")
        return 0
    expected = {c["name"]: c for c in json.loads(expected_path.read_text())["conversations"]}
    failed = [r["name"] for r in rendered if expected.get(r["name"]) != r]
    missing = sorted(expected.keys() - {r["name"] for r in rendered})
    for name in failed:
        print(f"{name}: openai-harmony renders it differently from expected.json", file=sys.stderr)
    for name in missing:
        print(f"{name}: in expected.json but not in conversations.json", file=sys.stderr)
    if failed or missing:
        return 1
    print(f"openai-harmony renders all {len(rendered)} conversations exactly as expected.json (text and ids)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
