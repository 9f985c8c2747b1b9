//! `gptoss` progress: bars on stderr when stderr is a terminal (a pseudo-terminal here), never on stdout; plain
//! lines without control characters when stderr is a pipe. Driven by the engine's stage events: synth's
//! `write_gguf` and a GPU load's `fetch_tensors` (lavapipe where there is no GPU).
#![cfg(unix)]

mod support;

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rustix::fs::{Mode, OFlags};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcsetwinsize, Winsize};

/// A full cell of the bar (`progress_chars` in the CLI's progress module).
const BAR_CELL: char = '█';

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `gptoss` with stdout a pipe and stderr either a pipe or the slave of a fresh pseudo-terminal.
fn gptoss(args: &[&str], stderr_on_terminal: bool) -> Outcome {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gptoss"));
    command.args(args).env("TERM", "xterm-256color").stdin(Stdio::null()).stdout(Stdio::piped());
    if !stderr_on_terminal {
        let out = command.stderr(Stdio::piped()).output().expect("gptoss runs");
        let text = |b: Vec<u8>| String::from_utf8(b).expect("UTF-8 output");
        return Outcome { code: out.status.code().unwrap_or(-1), stdout: text(out.stdout), stderr: text(out.stderr) };
    }
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    tcsetwinsize(&master, Winsize { ws_row: 40, ws_col: 160, ws_xpixel: 0, ws_ypixel: 0 }).unwrap();
    let slave: OwnedFd = rustix::fs::open(
        ptsname(&master, Vec::new()).unwrap().as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY,
        Mode::empty(),
    )
    .expect("the pseudo-terminal's slave");
    command.stderr(Stdio::from(slave));
    let child = command.spawn().expect("gptoss runs");
    // The command holds the parent's copy of the slave; the master reads end-of-file only once no process has it.
    drop(command);
    let reader = std::thread::spawn(move || {
        let mut master = File::from(master);
        let (mut bytes, mut chunk) = (Vec::new(), [0u8; 4096]);
        // Linux answers EIO once the last slave descriptor closes.
        while let Ok(n @ 1..) = master.read(&mut chunk) {
            bytes.extend_from_slice(&chunk[..n]);
        }
        bytes
    });
    let out = child.wait_with_output().expect("gptoss finishes");
    let stderr = reader.join().expect("the terminal reader");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gptoss-cli-progress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn assert_plain(text: &str) {
    assert!(!text.contains('\u{1b}') && !text.contains('\r') && !text.contains(BAR_CELL), "control output: {text:?}");
}

#[test]
fn synth_draws_a_bar_on_a_terminal_and_plain_lines_on_a_pipe() {
    let path = temp_file("synth-terminal.gguf");
    let out = gptoss(&["synth", "--preset", "tiny", "-o", path.to_str().unwrap()], true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "progress went to stdout: {:?}", out.stdout);
    assert!(out.stderr.contains("write_gguf"), "{:?}", out.stderr);
    assert!(out.stderr.contains(BAR_CELL), "no bar drawn: {:?}", out.stderr);
    assert!(out.stderr.contains("\u{1b}["), "no terminal control: {:?}", out.stderr);
    let on_terminal = std::fs::read(&path).unwrap();

    let path = temp_file("synth-pipe.gguf");
    let out = gptoss(&["synth", "--preset", "tiny", "-o", path.to_str().unwrap()], false);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    assert_plain(&out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines[0].starts_with("synth: tiny (seed 0): 459 tensors"), "{lines:?}");
    let done = lines.iter().find(|l| l.starts_with("write_gguf: ")).expect("the stage's summary line");
    let size = on_terminal.len() as f64;
    assert!(done.contains(" in ") && done.ends_with("/s)"), "{done}");
    // indicatif's binary units: the summary states the file's size as written.
    assert!(done.contains(&format!("{:.2} MiB", size / (1u64 << 20) as f64)), "{done} for {size} bytes");
    // The same bytes either way: progress does not touch the output.
    assert_eq!(std::fs::read(&path).unwrap(), on_terminal);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn gpu_load_draws_a_bar_on_a_terminal_and_plain_lines_on_a_pipe() {
    let model = support::fixtures().join("tiny.gguf");
    let args = ["logits", model.to_str().unwrap(), "--tokens", "1,2,3", "--backend", "gpu"];
    let out = gptoss(&args, true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let on_terminal: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is only the JSON");
    assert!(out.stderr.contains("fetch_tensors") && out.stderr.contains(BAR_CELL), "{:?}", out.stderr);

    let out = gptoss(&args, false);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let on_pipe: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is only the JSON");
    assert_eq!(on_pipe, on_terminal);
    assert_plain(&out.stderr);
    let load = out.stderr.lines().find(|l| l.starts_with("fetch_tensors: ")).expect("the load's summary line");
    assert!(load.contains(", 79 tensors, ") && load.ends_with(" on the GPU"), "{load}");
    assert!(out.stderr.lines().any(|l| l.starts_with("gpu: model resident in ")), "{}", out.stderr);
}
