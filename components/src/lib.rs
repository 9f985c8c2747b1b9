//! Reusable Dioxus components and hooks for the gptoss HUD.
