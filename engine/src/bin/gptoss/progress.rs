//! Progress of long steps on stderr, driven by the engine's events (the ones the HUD shows): indicatif bars when
//! stderr is a terminal; otherwise plain lines (a stage's summary when it ends, and where it stands every few
//! seconds while it runs), so CI logs hold no control characters and stdout (`--json`) stays clean.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use gptoss_engine::events::{Event, EventSink, Stage};
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressStyle};

/// How often a plain line reports a running stage.
const LINE_INTERVAL: Duration = Duration::from_secs(5);
/// Width of a stage's name in the bars, so the bars line up.
const SPINNER: &str = "{spinner:.cyan} {prefix:14} {elapsed:>4} {wide_msg}";
const BYTES_BAR: &str =
    "  {prefix:14} [{bar:30.cyan/blue}] {bytes:>10} / {total_bytes:10} {binary_bytes_per_sec:>12}  ETA {eta:>3}  {wide_msg}";
/// A finished stage keeps its full bar (when it counted bytes) and shows its summary.
const FINISHED_BAR: &str = "  {prefix:14} [{bar:30.cyan/blue}] {wide_msg}";
const FINISHED: &str = "  {prefix:14} {wide_msg}";

enum Output {
    Bars(MultiProgress),
    Lines,
    Silent,
}

/// One running stage.
struct Running {
    stage: Stage,
    bar: Option<ProgressBar>,
    last_line: Instant,
}

pub struct Progress {
    output: Output,
    running: Vec<Running>,
    /// Tensors fetched and GPU bytes allocated since the stage began, for the stage's message.
    tensors: u64,
    gpu_bytes: u64,
}

impl Progress {
    /// Bars on a terminal, plain lines otherwise: for the commands whose steps take long.
    pub fn on_stderr() -> Self {
        Self::with(if std::io::stderr().is_terminal() { Output::Bars(MultiProgress::new()) } else { Output::Lines })
    }

    /// Bars on a terminal, nothing otherwise: for steps that are long only over a slow network (a header).
    pub fn on_terminal() -> Self {
        Self::with(if std::io::stderr().is_terminal() { Output::Bars(MultiProgress::new()) } else { Output::Silent })
    }

    fn with(output: Output) -> Self {
        Progress { output, running: Vec::new(), tensors: 0, gpu_bytes: 0 }
    }

    /// A line on stderr above the bars (printed plainly without them).
    pub fn note(&self, line: &str) {
        match &self.output {
            // A terminal that went away leaves nobody to tell.
            Output::Bars(bars) => drop(bars.println(line)),
            Output::Lines | Output::Silent => eprintln!("{line}"),
        }
    }

    fn message(&self) -> String {
        let mut parts = Vec::new();
        if self.tensors > 0 {
            parts.push(format!("{} tensors", self.tensors));
        }
        if self.gpu_bytes > 0 {
            parts.push(format!("{} on the GPU", HumanBytes(self.gpu_bytes)));
        }
        parts.join(", ")
    }

    fn started(&mut self, stage: Stage) {
        self.tensors = 0;
        let bar = match &self.output {
            Output::Bars(bars) => {
                let bar = bars.add(ProgressBar::new_spinner().with_style(style(SPINNER)).with_prefix(stage.as_str()));
                bar.enable_steady_tick(Duration::from_millis(120));
                Some(bar)
            }
            Output::Lines | Output::Silent => None,
        };
        self.running.push(Running { stage, bar, last_line: Instant::now() });
    }

    fn progressed(&mut self, stage: Stage, bytes: u64, total_bytes: Option<u64>) {
        let message = self.message();
        let lines = matches!(self.output, Output::Lines);
        let Some(run) = self.running.iter_mut().find(|r| r.stage == stage) else { return };
        if let Some(bar) = &run.bar {
            match total_bytes {
                Some(total) => {
                    if bar.length() != Some(total) {
                        bar.set_style(style(BYTES_BAR));
                        bar.disable_steady_tick();
                        bar.set_length(total);
                    }
                    bar.set_position(bytes);
                    bar.set_message(message);
                }
                None => bar.set_message(format!("{} {message}", HumanBytes(bytes))),
            }
        } else if lines && run.last_line.elapsed() >= LINE_INTERVAL {
            run.last_line = Instant::now();
            match total_bytes {
                Some(total) => eprintln!(
                    "{stage}: {} of {} ({:.0}%)",
                    HumanBytes(bytes),
                    HumanBytes(total),
                    100.0 * bytes as f64 / total.max(1) as f64
                ),
                None => eprintln!("{stage}: {}", HumanBytes(bytes)),
            }
        }
    }

    fn ended(&mut self, stage: Stage, summary: Option<String>) {
        let Some(at) = self.running.iter().position(|r| r.stage == stage) else { return };
        let run = self.running.remove(at);
        match (&run.bar, summary) {
            (Some(bar), Some(summary)) => {
                bar.set_style(style(if bar.length().is_some() { FINISHED_BAR } else { FINISHED }));
                bar.finish_with_message(summary);
            }
            (Some(bar), None) => bar.abandon_with_message("failed"),
            (None, Some(summary)) if matches!(self.output, Output::Lines) => eprintln!("{stage}: {summary}"),
            (None, _) => {}
        }
    }

    /// `62.1 MB in 0.41 s (151 MB/s), 79 tensors`, or the time alone for a stage that moves no bytes.
    fn summary(&self, bytes: u64, duration_ms: f64) -> String {
        let seconds = duration_ms / 1e3;
        let mut text = if bytes > 0 {
            format!(
                "{} in {seconds:.2} s ({}/s)",
                HumanBytes(bytes),
                HumanBytes((bytes as f64 / seconds.max(1e-9)) as u64)
            )
        } else {
            format!("{seconds:.2} s")
        };
        let message = self.message();
        if !message.is_empty() {
            text = format!("{text}, {message}");
        }
        text
    }
}

impl EventSink for Progress {
    fn emit(&mut self, event: Event) {
        match event {
            Event::StageStarted { stage } => self.started(stage),
            Event::StageProgress { stage, bytes, total_bytes } => self.progressed(stage, bytes, total_bytes),
            Event::StageCompleted { stage, bytes, duration_ms } => {
                let summary = self.summary(bytes, duration_ms);
                self.ended(stage, Some(summary));
            }
            // The command reports the error itself, once.
            Event::StageFailed { stage, .. } => self.ended(stage, None),
            Event::TensorFetched { .. } => self.tensors += 1,
            Event::Notice { text } if !matches!(self.output, Output::Silent) => self.note(&format!("warning: {text}")),
            Event::GpuBufferAllocated { total_gpu_bytes, .. } => self.gpu_bytes = total_gpu_bytes,
            Event::GpuModelReady { gpu_bytes, dispatches_per_step, pipelines }
                if !matches!(self.output, Output::Silent) =>
            {
                self.note(&format!(
                    "gpu: model resident in {}, {dispatches_per_step} dispatches per token, {pipelines} pipelines",
                    HumanBytes(gpu_bytes)
                ));
            }
            _ => {}
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file; one that does not parse is a bug shown on the first run.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|e| panic!("progress template `{template}`: {e}"))
        .progress_chars("█▉▊▋▌▍▎▏ ")
}
