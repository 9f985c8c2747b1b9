//! What a line of the HUD is telling its reader: every component that colours text by meaning takes a [`Tone`].

/// What a line of the HUD is telling the reader, which picks its colour (`data-tone` in CSS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Tone {
    /// Primary data (`--hud-data`, cyan).
    #[default]
    Data,
    /// Still working; shown dimmed and pulsing (`--hud-dim`).
    Pending,
    /// Usable but degraded (`--hud-warning`, orange).
    Warning,
    /// Finished and verified (`--hud-done`, green).
    Done,
    /// Failed (`--hud-error`, red).
    Error,
}

impl Tone {
    /// The `data-tone` value CSS keys on.
    pub fn as_str(self) -> &'static str {
        match self {
            Tone::Data => "data",
            Tone::Pending => "pending",
            Tone::Warning => "warning",
            Tone::Done => "done",
            Tone::Error => "error",
        }
    }
}
