//! The default theme's colours (`theme.css`) for drawing on a canvas, which CSS variables cannot reach.

use plotters::style::RGBColor;

pub const BACKGROUND: RGBColor = RGBColor(5, 8, 10);
/// An empty cell or track: a shade above the background.
pub const TRACK: RGBColor = RGBColor(14, 26, 31);
pub const DATA: RGBColor = RGBColor(127, 211, 229);
pub const DIM: RGBColor = RGBColor(79, 135, 147);
pub const WARNING: RGBColor = RGBColor(255, 153, 0);
pub const DONE: RGBColor = RGBColor(0, 255, 136);
/// The backdrop of a resident expert.
pub const RESIDENT: RGBColor = RGBColor(8, 52, 38);
const HOT: RGBColor = RGBColor(240, 253, 255);

fn lerp(a: RGBColor, b: RGBColor, t: f32) -> RGBColor {
    let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Intensity 0–1 from the track colour through `mid` to near-white.
pub fn ramp(mid: RGBColor, t: f32) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    if t < 0.6 {
        lerp(TRACK, mid, t / 0.6)
    } else {
        lerp(mid, HOT, (t - 0.6) / 0.4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_runs_from_track_to_hot() {
        assert_eq!(ramp(DATA, 0.0), TRACK);
        assert_eq!(ramp(DATA, 0.6), DATA);
        assert_eq!(ramp(DATA, 1.0), RGBColor(240, 253, 255));
        assert_eq!(ramp(DATA, f32::NAN), TRACK);
    }
}
