//! The `gptoss` command line as a user meets it: every command's `--help` (flags, defaults, allowed values),
//! `--version`, usage errors (exit 2, clap's message naming the flag), refused inputs (exit 1, one `error:` line),
//! `run --json` against `logits --greedy` on the fixture, shell completions, and README's CLI table against the
//! help text.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every command, in the order `gptoss --help` lists them.
const COMMANDS: [&str; 10] =
    ["inspect", "logits", "run", "chat", "tokenize", "detokenize", "synth", "pack", "bench", "completions"];

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn gptoss(args: &[&str]) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_gptoss")).args(args).output().expect("gptoss runs");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
    Outcome { code: out.status.code().unwrap_or(-1), stdout: text(out.stdout), stderr: text(out.stderr) }
}

fn tiny() -> String {
    let path = support::fixtures().join("tiny.gguf");
    assert!(path.exists(), "fixture {} missing", path.display());
    path.to_string_lossy().into_owned()
}

fn corpus(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(name).to_string_lossy().into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gptoss-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_command_has_help_naming_its_flags_defaults_and_allowed_values() {
    let top = gptoss(&["--help"]);
    assert_eq!(top.code, 0, "{}", top.stderr);
    assert_eq!(help_commands(&top.stdout).iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), COMMANDS);
    for command in COMMANDS {
        let help = gptoss(&[command, "--help"]);
        assert_eq!(help.code, 0, "{command}: {}", help.stderr);
        assert!(help.stderr.is_empty(), "{command}: {}", help.stderr);
        assert!(help.stdout.contains(&format!("Usage: gptoss {command} ")), "{command}:\n{}", help.stdout);
        // `gptoss help <command>` is the same page.
        assert_eq!(gptoss(&["help", command]).stdout, help.stdout, "{command}");
    }
    let run = gptoss(&["run", "--help"]).stdout;
    for expected in [
        "--prompt <TEXT>",
        "--backend <BACKEND>",
        "cpu: The f32 reference forward pass, on the CPU",
        "gpu: The WGSL kernels, on the GPU",
        "[default: gpu]",
        "--max-tokens <N>",
        "[default: 256]",
        "--temperature <T>",
        "[default: 1]",
        "--reasoning <REASONING>",
        "[possible values: low, medium, high]",
        "[default: medium]",
        "--expert-budget <min|N%|BYTES>",
        "[default: 100%]",
        "--context <N>",
        "[default: 4096]",
        "--json",
    ] {
        assert!(run.contains(expected), "run --help lacks `{expected}`:\n{run}");
    }
    let logits = gptoss(&["logits", "--help"]).stdout;
    for expected in ["--tokens <ID,..>", "[default: cpu]", "--last-logits <FILE>", "--greedy <N>", "[default: 0]"] {
        assert!(logits.contains(expected), "logits --help lacks `{expected}`:\n{logits}");
    }
    let synth = gptoss(&["synth", "--help"]).stdout;
    for expected in ["[possible values: tiny, gpt-oss-20b, gpt-oss-120b]", "-o, --output <FILE>", "--seed <SEED>"] {
        assert!(synth.contains(expected), "synth --help lacks `{expected}`:\n{synth}");
    }
    let bench = gptoss(&["bench", "--help"]).stdout;
    for expected in
        ["--prefill <N,..>", "[default: 128,1024]", "[default: 0,1024,4096]", "[default: 32]", "[default: 256]"]
    {
        assert!(bench.contains(expected), "bench --help lacks `{expected}`:\n{bench}");
    }
    let completions = gptoss(&["completions", "--help"]).stdout;
    assert!(completions.contains("[possible values: bash, elvish, fish, powershell, zsh]"), "{completions}");

    let version = gptoss(&["--version"]);
    assert_eq!((version.code, version.stdout.trim()), (0, concat!("gptoss ", env!("CARGO_PKG_VERSION"))));
    assert_eq!(gptoss(&["run", "--version"]).stdout.trim(), concat!("gptoss-run ", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2_with_clap_naming_the_flag() {
    let model = tiny();
    let m = model.as_str();
    for command in COMMANDS {
        let out = gptoss(&[command, "--no-such-flag"]);
        assert_eq!(out.code, 2, "{command}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{command}: {}", out.stdout);
        assert!(
            out.stderr.starts_with("error: unexpected argument '--no-such-flag' found"),
            "{command}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(&format!("Usage: gptoss {command} ")), "{command}: {}", out.stderr);
    }
    for (args, expected) in [
        (vec![], "Usage: gptoss <COMMAND>"),
        (vec!["serve"], "unrecognized subcommand 'serve'"),
        (vec!["inspect"], "the following required arguments were not provided:\n  <MODEL>"),
        (vec!["run", m], "the following required arguments were not provided:\n  --prompt <TEXT>"),
        (vec!["run", m, "--prompt", "hi", "--backend", "tpu"], "invalid value 'tpu' for '--backend <BACKEND>'"),
        (
            vec!["run", m, "--prompt", "hi", "--reasoning", "extreme"],
            "invalid value 'extreme' for '--reasoning <REASONING>'",
        ),
        (vec!["run", m, "--prompt", "hi", "--max-tokens", "many"], "invalid value 'many' for '--max-tokens <N>'"),
        (
            vec!["run", m, "--prompt", "hi", "--temperature", "-1"],
            "invalid value '-1' for '--temperature <T>': temperature -1 must be ≥ 0",
        ),
        (
            vec!["run", m, "--prompt", "hi", "--top-p", "1.5"],
            "invalid value '1.5' for '--top-p <P>': top-p 1.5 must be in (0, 1]",
        ),
        (
            vec!["run", m, "--prompt", "hi", "--top-k", "100000"],
            "invalid value '100000' for '--top-k <K>': top-k 100000 exceeds",
        ),
        (
            vec!["run", m, "--prompt", "hi", "--expert-budget", "150%"],
            "invalid value '150%' for '--expert-budget <min|N%|BYTES>': expert budget `150%`: must be in (0, 100]%",
        ),
        (vec!["logits", m], "the following required arguments were not provided:\n  --tokens <ID,..>"),
        (vec!["logits", m, "--tokens", "1,x"], "invalid value 'x' for '--tokens <ID,..>'"),
        (vec!["tokenize", m], "the following required arguments were not provided:\n  <--text <TEXT>|--file <FILE>|--conversations <FILE.jsonl>>"),
        (
            vec!["tokenize", m, "--text", "a", "--file", "b"],
            "the argument '--text <TEXT>' cannot be used with '--file <FILE>'",
        ),
        (vec!["detokenize", m, "--ids", "-3"], "unexpected argument '-3' found"),
        (vec!["synth", "--preset", "huge", "-o", "x.gguf"], "invalid value 'huge' for '--preset <PRESET>'"),
        (vec!["synth", "--preset", "tiny"], "the following required arguments were not provided:\n  --output <FILE>"),
        (vec!["bench", m, "--contexts", "0,lots"], "invalid value 'lots' for '--contexts <N,..>'"),
        (vec!["completions", "tcsh"], "invalid value 'tcsh' for '<SHELL>'"),
    ] {
        let out = gptoss(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains(expected), "{args:?}: expected `{expected}` in:\n{}", out.stderr);
    }
}

/// Exit 1, nothing on stdout, and on stderr one `error:` line naming the file and what is wrong with it, last
/// (before it only the plain progress lines of stages that finished).
fn assert_refused(args: &[&str], expected: &[&str]) {
    let out = gptoss(args);
    assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("error: ")).count(), 1, "{args:?}: {}", out.stderr);
    let error = lines.last().copied().unwrap_or_default();
    assert!(error.starts_with("error: "), "{args:?}: {}", out.stderr);
    for e in expected {
        assert!(error.contains(e), "{args:?}: expected `{e}` in {error}");
    }
    assert!(!out.stderr.contains('\u{1b}'), "{args:?}: escape codes on a pipe: {:?}", out.stderr);
}

#[test]
fn refused_inputs_exit_1_with_one_error_line() {
    let html = corpus("html-page.gguf");
    let broken = [html.as_str(), "html-page.gguf", "not a GGUF file"];
    for args in [
        vec!["inspect", broken[0]],
        vec!["logits", broken[0], "--tokens", "1,2"],
        vec!["run", broken[0], "--prompt", "hi", "--backend", "cpu"],
        vec!["tokenize", broken[0], "--text", "hi"],
        vec!["detokenize", broken[0], "--ids", "1,2"],
        vec!["bench", broken[0]],
    ] {
        assert_refused(&args, &broken[1..]);
    }
    let model = tiny();
    assert_refused(
        &["run", &model, "--prompt", "hi", "--backend", "cpu", "--context", "8"],
        &["plus --max-tokens 256 exceed the context of 8"],
    );
    assert_refused(&["logits", &model, "--tokens", "201088"], &["token id 201088 is outside the vocabulary"]);
    // A file where a folder should be: the model cannot be written.
    let dir = temp_dir("refused");
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let output = blocker.join("model.gguf");
    assert_refused(
        &["synth", "--preset", "tiny", "-o", output.to_str().unwrap()],
        &[blocker.to_str().unwrap(), "cannot create folder"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_json_prints_ids_channels_and_timings_matching_the_greedy_logits() {
    let model = tiny();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", &model, "--prompt", "What is 2 + 2?", "--backend", "cpu", "--max-tokens", "6"];
        args.extend_from_slice(&["--temperature", "0"]);
        args.extend_from_slice(extra);
        let out = gptoss(&args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("cpu backend: prompt"), "{}", out.stderr);
        assert!(!out.stdout.contains('\u{1b}'), "a pipe gets no escape codes: {:?}", out.stdout);
        out.stdout
    };
    let streamed = run(&[]);
    let json = run(&["--json"]);
    // stdout is the one JSON object and nothing else; the timings line stays on stderr.
    assert_eq!(json.lines().count(), 1, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("run --json prints JSON");
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array().expect("an id array").iter().map(|i| i.as_u64().unwrap() as u32).collect()
    };
    let prompt_ids = ids(&report["prompt_ids"]);
    let generated = ids(&report["ids"]);
    let stats = &report["stats"];
    assert_eq!(stats["backend"], "cpu");
    assert_eq!(stats["prompt_tokens"].as_u64(), Some(prompt_ids.len() as u64));
    assert_eq!(stats["generated"].as_u64(), Some(generated.len() as u64));
    assert!(stats["prefill_ms"].as_f64().unwrap() > 0.0, "{stats}");
    assert!(["stop_token", "max_new_tokens"].contains(&stats["stopped_by"].as_str().unwrap()), "{stats}");

    // The prompt is Harmony's: it ends by opening the assistant's turn.
    let opening = gptoss(&["tokenize", &model, "--text", "<|start|>assistant"]);
    let opening: Vec<u32> = serde_json::from_str(&opening.stdout).unwrap();
    assert!(prompt_ids.ends_with(&opening), "{prompt_ids:?} does not end with {opening:?}");

    // Greedy generation is the argmax continuation `logits --greedy` computes from the same prompt.
    let list = prompt_ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let greedy = gptoss(&["logits", &model, "--tokens", &list, "--greedy", &generated.len().to_string()]);
    assert_eq!(greedy.code, 0, "{}", greedy.stderr);
    let greedy: serde_json::Value = serde_json::from_str(&greedy.stdout).unwrap();
    assert_eq!(ids(&greedy["greedy"]), generated);

    // The streamed text is the same output: the channels' and the raw text, with a `[channel] ` label where the
    // channel changes, and a final newline.
    let channels = report["channels"].as_object().expect("channels by name");
    let mut unlabelled = streamed.strip_suffix('\n').expect("a final newline").to_string();
    for channel in channels.keys() {
        unlabelled = unlabelled.replace(&format!("\n[{channel}] "), "");
    }
    let sorted = |text: &str| {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars
    };
    let parts: String =
        channels.values().map(|t| t.as_str().unwrap()).chain([report["raw"].as_str().unwrap()]).collect();
    assert_eq!(sorted(&unlabelled), sorted(&parts), "streamed {streamed:?}, JSON {report}");
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    for (shell, marker) in [("bash", "complete -F _gptoss"), ("zsh", "#compdef gptoss"), ("fish", "complete -c gptoss")]
    {
        let out = gptoss(&["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains(marker), "{shell}: no `{marker}`");
        for word in ["synth", "expert-budget", "gpt-oss-120b", "reasoning"] {
            assert!(out.stdout.contains(word), "{shell} completions lack `{word}`");
        }
    }
    // The bash script is valid bash.
    let dir = temp_dir("completions");
    let script = dir.join("gptoss.bash");
    std::fs::write(&script, gptoss(&["completions", "bash"]).stdout).unwrap();
    let check = Command::new("bash").arg("-n").arg(&script).output().expect("bash runs");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `(name, about)` of each command in `gptoss --help`, without clap's own `help`.
fn help_commands(help: &str) -> Vec<(String, String)> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let (name, about) = l.trim().split_once(' ')?;
            Some((name.to_string(), about.trim().to_string()))
        })
        .filter(|(name, _)| name != "help")
        .collect()
}

/// A command's usage (after `gptoss `) and its options as `--help` shows them, without `--help` and `--version`.
fn usage_and_options(help: &str) -> (String, Vec<String>) {
    let usage = help
        .lines()
        .find_map(|l| l.strip_prefix("Usage: gptoss "))
        .unwrap_or_else(|| panic!("no usage line in:\n{help}"))
        .to_string();
    let options = help
        .lines()
        .skip_while(|l| *l != "Options:")
        .skip(1)
        .filter(|l| {
            let indent = l.len() - l.trim_start().len();
            indent <= 6 && l.trim_start().starts_with('-')
        })
        // The flag and its value name come first; a description on the same line follows two spaces on.
        .map(|l| l.trim().split("  ").next().unwrap_or_default().to_string())
        .filter(|o| !o.ends_with("--help") && !o.ends_with("--version"))
        .collect();
    (usage, options)
}

/// README's table, as the help text makes it.
fn expected_readme_table() -> String {
    let code = |text: &str| format!("`{}`", text.replace('|', "\\|"));
    let mut table = String::from("| command | what it does | options |\n|---|---|---|\n");
    for (name, about) in help_commands(&gptoss(&["--help"]).stdout) {
        let (usage, options) = usage_and_options(&gptoss(&[name.as_str(), "--help"]).stdout);
        let options = options.iter().map(|o| code(o)).collect::<Vec<_>>().join(" ");
        table.push_str(&format!("| {} | {about} | {options} |\n", code(&usage)));
    }
    table
}

#[test]
fn readme_cli_table_matches_the_help_text() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let section = readme.split("## The engine on the command line").nth(1).expect("README's CLI section");
    let table: String = section
        .lines()
        .skip_while(|l| !l.starts_with("| command |"))
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    let expected = expected_readme_table();
    assert_eq!(
        table, expected,
        "README's CLI table differs from `gptoss --help`; the table it should hold:\n{expected}"
    );
}

#[test]
fn chat_reads_turns_from_stdin_and_prefills_only_what_the_cache_lacks() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gptoss"))
        .args(["chat", &tiny(), "--backend", "cpu", "--max-tokens", "3", "--temperature", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("gptoss chat runs");
    let script = "What is 2 + 2?\nAnd 3 + 3?\n/effort low\n/system Answer in French.\nOnce more?\n/bogus\n/clear\nHi\n";
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    // One line per turn: `prompt P tokens (R reused, N prefilled …`.
    let turns: Vec<(usize, usize)> = stderr
        .lines()
        .filter_map(|l| l.split_once("prompt ")?.1.split_once(" reused")?.0.split_once(" tokens ("))
        .map(|(p, r)| (p.parse().unwrap(), r.parse().unwrap()))
        .collect();
    assert_eq!(turns.len(), 4, "{stderr}");
    assert_eq!(turns[0].1, 0, "the first turn prefills everything");
    // Turn 2 shares all of turn 1's prompt but its last token (`assistant` becomes `user`), whatever was generated.
    assert_eq!(turns[1].1, turns[0].0 - 1, "{stderr}");
    // A new effort changes the system message: only what comes before `Reasoning: ` is reused.
    assert!(turns[2].1 > 0 && turns[2].1 < 40, "{stderr}");
    assert!(stderr.contains("error: unknown command /bogus"), "{stderr}");
    // After /clear the system and developer messages are still cached.
    assert!(turns[3].1 > 40 && turns[3].0 < turns[2].0, "{stderr}");
}
