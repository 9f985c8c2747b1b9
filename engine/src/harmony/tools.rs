//! Function tools in the developer message: Harmony writes each tool's JSON-schema parameters as a TypeScript-like
//! type inside `namespace functions { … }` (`openai/harmony:docs/format.md`, "Function calling"). The layout —
//! comment lines, indents, `?` for optional members, `// default:` notes, `oneOf` as `|` lines — is
//! openai-harmony 0.0.8's, byte for byte (checked by `tests/harmony_reference.rs`).

use super::json::JsonValue;
use crate::{Error, Result};

/// The namespace function tools live in; a call's recipient is `functions.NAME`.
pub const FUNCTIONS: &str = "functions";

/// One function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTool {
    pub name: String,
    pub description: String,
    /// A JSON schema of the single argument; `None` renders `() => any`.
    pub parameters: Option<JsonValue>,
}

impl FunctionTool {
    /// A tool from its parts as a user types them: the schema is JSON text (empty for none) and must be an object.
    pub fn new(name: &str, description: &str, schema: &str) -> Result<FunctionTool> {
        let name = name.trim();
        let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if name.is_empty() || !name.chars().all(valid_char) {
            return Err(Error::Usage(format!(
                "tool name `{name}`: use letters, digits, `_` or `-` (it becomes the recipient `functions.{name}`)"
            )));
        }
        let parameters = if schema.trim().is_empty() {
            None
        } else {
            let what = format!("tool `{name}`'s parameter schema");
            let value = JsonValue::parse(schema, &what)?;
            if value.as_object().is_none() {
                return Err(Error::Usage(format!(
                    "{what}: a JSON schema is an object (`{{\"type\": \"object\", …}}`)"
                )));
            }
            Some(value)
        };
        Ok(FunctionTool { name: name.to_owned(), description: description.to_owned(), parameters })
    }

    /// The recipient of a call to this tool.
    pub fn recipient(&self) -> String {
        format!("{FUNCTIONS}.{}", self.name)
    }
}

/// `# Tools` with the `functions` namespace, as the developer message carries it.
pub(super) fn tools_section(tools: &[FunctionTool]) -> String {
    let mut lines = vec![format!("## {FUNCTIONS}\n"), format!("namespace {FUNCTIONS} {{\n")];
    for tool in tools {
        lines.extend(tool.description.lines().map(|line| format!("// {line}")));
        lines.push(match &tool.parameters {
            Some(schema) => format!("type {} = (_: {}) => any;\n", tool.name, typescript(schema, "")),
            None => format!("type {} = () => any;\n", tool.name),
        });
    }
    lines.push(format!("}} // namespace {FUNCTIONS}"));
    format!("# Tools\n\n{}", lines.join("\n"))
}

fn is_enum(schema: &JsonValue) -> bool {
    schema.get("enum").and_then(JsonValue::as_array).is_some_and(|values| !values.is_empty())
}

fn nullable(schema: &JsonValue) -> bool {
    matches!(schema.get("nullable"), Some(JsonValue::Bool(true)))
}

/// `T | null` for a nullable schema, unless the type already says null.
fn with_null(schema: &JsonValue, ty: String) -> String {
    if nullable(schema) && !ty.contains("null") {
        format!("{ty} | null")
    } else {
        ty
    }
}

/// A default's note. Harmony quotes a string default of a non-enum schema by hand, writes an enum's string default
/// bare (`bare_enum_string`, member comments) or as JSON (trailing comments), and any other default as JSON.
fn default_note(schema: &JsonValue, default: &JsonValue, bare_enum_string: bool) -> String {
    match default.as_str() {
        Some(s) if !is_enum(schema) => format!("default: \"{s}\""),
        Some(s) if bare_enum_string => format!("default: {s}"),
        _ => format!("default: {default}"),
    }
}

/// One `oneOf` variant's line: its type, then its description and default as a trailing comment.
fn variant_line(variant: &JsonValue, indent: &str, description: Option<&str>, bare_enum_string: bool) -> String {
    let mut line = with_null(variant, typescript(variant, &format!("{indent}   ")));
    let mut notes: Vec<String> = description.map(str::to_owned).into_iter().collect();
    if let Some(default) = variant.get("default") {
        notes.push(default_note(variant, default, bare_enum_string));
    }
    if !notes.is_empty() {
        line.push_str(&format!(" // {}", notes.join(" ")));
    }
    line
}

/// The TypeScript-like type of a JSON schema, members indented by `indent`.
fn typescript(schema: &JsonValue, indent: &str) -> String {
    if let Some(variants) = schema.get("oneOf").and_then(JsonValue::as_array) {
        return variants
            .iter()
            .map(|v| {
                let description = v.get("description").and_then(JsonValue::as_str);
                format!("\n{indent} | {}", variant_line(v, indent, description, false))
            })
            .collect();
    }
    if let Some(types) = schema.get("type").and_then(JsonValue::as_array) {
        let names: Vec<&str> =
            types.iter().filter_map(JsonValue::as_str).map(|t| if t == "integer" { "number" } else { t }).collect();
        if !names.is_empty() {
            return names.join(" | ");
        }
    }
    match schema.get("type").and_then(JsonValue::as_str) {
        Some("object") => object_type(schema, indent),
        Some("string") => {
            let values: Vec<String> = schema
                .get("enum")
                .and_then(JsonValue::as_array)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(|s| format!("\"{s}\"")))
                .collect();
            if values.is_empty() {
                "string".into()
            } else {
                values.join(" | ")
            }
        }
        Some("number") | Some("integer") => "number".into(),
        Some("boolean") => "boolean".into(),
        Some("array") => match schema.get("items") {
            Some(items) => format!("{}[]", typescript(items, indent)),
            None => "Array<any>".into(),
        },
        _ => "any".into(),
    }
}

fn object_type(schema: &JsonValue, indent: &str) -> String {
    let mut out = String::new();
    if let Some(description) = schema.get("description").and_then(JsonValue::as_str) {
        out.push_str(&format!("{indent}// {description}\n"));
    }
    out.push_str("{\n");
    let required: Vec<&str> = schema
        .get("required")
        .and_then(JsonValue::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    for (key, value) in schema.get("properties").and_then(JsonValue::as_object).unwrap_or_default() {
        let optional = if required.contains(&key.as_str()) { "" } else { "?" };
        let text = |k: &str| value.get(k).and_then(JsonValue::as_str);
        if let Some(title) = text("title") {
            out.push_str(&format!("{indent}// {title}\n{indent}//\n"));
        }
        let variants = value.get("oneOf").and_then(JsonValue::as_array);
        if value.get("oneOf").is_none() {
            if let Some(description) = text("description") {
                out.push_str(&format!("{indent}// {description}\n"));
            }
        }
        let examples = value.get("examples").and_then(JsonValue::as_array).unwrap_or_default();
        if !examples.is_empty() {
            out.push_str(&format!("{indent}// Examples:\n"));
            for example in examples.iter().filter_map(JsonValue::as_str) {
                out.push_str(&format!("{indent}// - \"{example}\"\n"));
            }
        }
        if let Some(variants) = variants {
            out.push_str(&one_of_member(key, optional, value, variants, indent));
            continue;
        }
        let ty = with_null(value, typescript(value, &format!("{indent}    ")));
        out.push_str(&format!("{indent}{key}{optional}: {ty},"));
        if let Some(default) = value.get("default") {
            out.push_str(&format!(" // {}", default_note(value, default, true)));
        }
        out.push('\n');
    }
    out.push_str(&format!("{indent}}}"));
    out
}

/// A member whose schema is a `oneOf`: its description and default above it, one `| variant` line each.
fn one_of_member(key: &str, optional: &str, value: &JsonValue, variants: &[JsonValue], indent: &str) -> String {
    let mut out = String::new();
    let member_description = value.get("description").and_then(JsonValue::as_str);
    let first_description = variants.first().and_then(|v| v.get("description")).and_then(JsonValue::as_str);
    // The member's description goes above it unless the first variant repeats it (then it trails that variant).
    let above = member_description.filter(|d| Some(*d) != first_description);
    if let Some(description) = above {
        out.push_str(&format!("{indent}// {description}\n"));
    }
    if let Some(default) = value.get("default") {
        out.push_str(&format!("{indent}// {}\n", default_note(value, default, true)));
    }
    out.push_str(&format!("{indent}{key}{optional}:\n"));
    for (i, variant) in variants.iter().enumerate() {
        let description = variant
            .get("description")
            .and_then(JsonValue::as_str)
            .filter(|d| !(i == 0 && above.is_some()) && Some(*d) != member_description);
        out.push_str(&format!("{indent} | {}\n", variant_line(variant, indent, description, true)));
    }
    out.push_str(&format!("{indent},\n"));
    out
}
