//! The colours a chart is drawn in. CSS cannot reach a canvas's pixels, so where a chart is shown its canvas reads
//! the theme's variables (`theme.css`) into a [`Palette`] before each paint: an app's override of `--hud-data`
//! recolours the charts as it recolours the text.

use plotters::style::RGBColor;

/// The theme's colours for drawing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Palette {
    /// `--hud-bg`.
    pub background: RGBColor,
    /// `--hud-track`: an empty cell or track, a shade above the background.
    pub track: RGBColor,
    /// `--hud-data`: primary data.
    pub data: RGBColor,
    /// `--hud-dim`: axes and outlines.
    pub dim: RGBColor,
    /// `--hud-warning`: counts, the next write position.
    pub warning: RGBColor,
    /// `--hud-done`: marks (the newest token's experts, the last value).
    pub done: RGBColor,
    /// `--hud-resident`: the backdrop of a resident expert.
    pub resident: RGBColor,
}

/// Where a ramp ends: near-white, whatever the theme.
const HOT: RGBColor = RGBColor(240, 253, 255);

impl Default for Palette {
    fn default() -> Self {
        Palette::DEFAULT
    }
}

impl Palette {
    /// The default theme's colours (the values `theme.css` gives its variables).
    pub const DEFAULT: Palette = Palette {
        background: RGBColor(5, 8, 10),
        track: RGBColor(14, 26, 31),
        data: RGBColor(127, 211, 229),
        dim: RGBColor(79, 135, 147),
        warning: RGBColor(255, 153, 0),
        done: RGBColor(0, 255, 136),
        resident: RGBColor(8, 52, 38),
    };

    /// Each colour's CSS variable, in the order of the fields.
    pub const VARIABLES: [&'static str; 7] =
        ["--hud-bg", "--hud-track", "--hud-data", "--hud-dim", "--hud-warning", "--hud-done", "--hud-resident"];

    /// The palette that `variable` (a CSS variable's value, as `getComputedStyle` gives it) describes: each
    /// variable that is unset keeps the default's colour. A value that is set but not a colour this reads
    /// (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`) also keeps the default's, and is returned by name, so
    /// the caller can say so.
    pub fn from_variables(variable: impl Fn(&str) -> Option<String>) -> (Palette, Vec<String>) {
        let mut palette = Palette::DEFAULT;
        let mut unread = Vec::new();
        let fields = [
            &mut palette.background,
            &mut palette.track,
            &mut palette.data,
            &mut palette.dim,
            &mut palette.warning,
            &mut palette.done,
            &mut palette.resident,
        ];
        for (name, field) in Palette::VARIABLES.into_iter().zip(fields) {
            let Some(value) = variable(name).filter(|v| !v.trim().is_empty()) else { continue };
            match parse_colour(&value) {
                Some(colour) => *field = colour,
                None => unread.push(format!("{name}: {}", value.trim())),
            }
        }
        (palette, unread)
    }

    /// Intensity 0–1 from the track colour through `mid` to near-white.
    pub fn ramp(&self, mid: RGBColor, t: f32) -> RGBColor {
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
        if t < 0.6 {
            lerp(self.track, mid, t / 0.6)
        } else {
            lerp(mid, HOT, (t - 0.6) / 0.4)
        }
    }
}

fn lerp(a: RGBColor, b: RGBColor, t: f32) -> RGBColor {
    let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A CSS colour in hex or `rgb()`/`rgba()` notation (alpha is dropped: the canvas is opaque).
pub fn parse_colour(text: &str) -> Option<RGBColor> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix('#') {
        let digit = |i: usize| u8::from_str_radix(hex.get(i..i + 1)?, 16).ok();
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        return match hex.len() {
            3 | 4 => Some(RGBColor(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
            6 | 8 => Some(RGBColor(byte(0)?, byte(2)?, byte(4)?)),
            _ => None,
        };
    }
    let inner = text.strip_prefix("rgba(").or_else(|| text.strip_prefix("rgb("))?.strip_suffix(')')?;
    let mut channels = inner.split([',', ' ', '/']).filter(|s| !s.is_empty()).map(|s| s.parse::<f32>().ok());
    let mut channel = || channels.next().flatten().filter(|v| (0.0..=255.0).contains(v)).map(|v| v.round() as u8);
    Some(RGBColor(channel()?, channel()?, channel()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_runs_from_track_to_hot() {
        let p = Palette::DEFAULT;
        assert_eq!(p.ramp(p.data, 0.0), p.track);
        assert_eq!(p.ramp(p.data, 0.6), p.data);
        assert_eq!(p.ramp(p.data, 1.0), RGBColor(240, 253, 255));
        assert_eq!(p.ramp(p.data, f32::NAN), p.track);
    }

    #[test]
    fn colours_parse_in_hex_and_rgb_notation() {
        assert_eq!(parse_colour("#7fd3e5"), Some(RGBColor(127, 211, 229)));
        assert_eq!(parse_colour(" #f80 "), Some(RGBColor(255, 136, 0)));
        assert_eq!(parse_colour("#ff000080"), Some(RGBColor(255, 0, 0)));
        assert_eq!(parse_colour("rgb(255, 210, 127)"), Some(RGBColor(255, 210, 127)));
        assert_eq!(parse_colour("rgba(1,2,3,0.5)"), Some(RGBColor(1, 2, 3)));
        assert_eq!(parse_colour("rgb(1 2 3 / 50%)"), Some(RGBColor(1, 2, 3)));
        for bad in ["red", "#12", "#gggggg", "rgb(300, 0, 0)", "rgb(1, 2)", "hsl(0 0% 0%)", ""] {
            assert_eq!(parse_colour(bad), None, "{bad}");
        }
    }

    #[test]
    fn variables_override_the_default_and_unreadable_ones_are_named() {
        let (p, unread) = Palette::from_variables(|name| match name {
            "--hud-data" => Some(" rgb(255, 210, 127)".into()),
            "--hud-done" => Some("tomato".into()),
            "--hud-dim" => Some(String::new()),
            _ => None,
        });
        assert_eq!(p.data, RGBColor(255, 210, 127));
        assert_eq!((p.done, p.dim, p.background), (Palette::DEFAULT.done, Palette::DEFAULT.dim, RGBColor(5, 8, 10)));
        assert_eq!(unread, vec!["--hud-done: tomato".to_string()]);
    }

    #[test]
    fn the_default_is_what_theme_css_sets() {
        let css = include_str!("../theme.css");
        // The declarations, after the comment that names some of them.
        let css = &css[css.find(":where(:root) {").unwrap()..];
        let (p, unread) = Palette::from_variables(|name| {
            let at = css.find(&format!("{name}:"))? + name.len() + 1;
            Some(css[at..].split(';').next()?.to_string())
        });
        assert!(unread.is_empty(), "{unread:?}");
        assert_eq!(p, Palette::DEFAULT);
    }
}
