//! `loss.png`: a line chart of training and validation loss, rasterised here and written as
//! a PNG (zlib from flate2, chunk CRCs from crc32fast). Hand-drawn because a plotting crate
//! needs a font file or system fonts for its labels; this one carries its own 5×7 font.

use super::font;
use anyhow::{Context, Result};
use std::io::Write;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// One line of the chart.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend text.
    pub label: &'a str,
    /// `(x, y)` points in x order; non-finite values break the line.
    pub points: &'a [(f64, f64)],
    /// Line colour.
    pub color: Rgb,
    /// Line width in pixels.
    pub width: u32,
    /// Draw a dot at every point (for sparse series such as validation loss).
    pub markers: bool,
}

/// A chart: title, axis labels and series.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// Above the plot.
    pub title: &'a str,
    /// Under the x axis.
    pub x_label: &'a str,
    /// Beside the y axis.
    pub y_label: &'a str,
    /// Drawn in order, so later series lie on top.
    pub series: Vec<Series<'a>>,
}

const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
/// Text is drawn at this many pixels per font cell.
const SCALE: i64 = 2;
/// Plot area margins: left, right, top, bottom.
const MARGIN: (i64, i64, i64, i64) = (90, 24, 48, 64);
/// More grid lines than [`tick_step`] ever asks for.
const MAX_TICKS: usize = 20;

struct Canvas {
    w: i64,
    h: i64,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas {
            w: i64::from(w),
            h: i64::from(h),
            rgb: WHITE.repeat(w as usize * h as usize),
        }
    }

    fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if (0..self.w).contains(&x) && (0..self.h).contains(&y) {
            let i = 3 * (y * self.w + x) as usize;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, c);
            }
        }
    }

    /// A line `width` pixels thick: a square brush stepped along the longer axis.
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), width: u32, c: Rgb) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as i64;
        let w = i64::from(width.max(1));
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
            self.rect(x.round() as i64 - w / 2, y.round() as i64 - w / 2, w, w, c);
        }
    }

    fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb) {
        for (i, ch) in s.chars().enumerate() {
            let left = x + i as i64 * (font::W as i64 + 1) * SCALE;
            for (cx, cy) in font::cells(ch) {
                self.rect(
                    left + cx as i64 * SCALE,
                    y + cy as i64 * SCALE,
                    SCALE,
                    SCALE,
                    c,
                );
            }
        }
    }
}

/// Width in pixels of `s` drawn with [`Canvas::text`].
fn text_width(s: &str) -> i64 {
    s.chars().count() as i64 * (font::W as i64 + 1) * SCALE
}

/// A "nice" tick step (1, 2 or 5 × 10^k) giving about five ticks over `range`.
pub fn tick_step(range: f64) -> f64 {
    if !(range.is_finite() && range > 0.0) {
        return 1.0;
    }
    let raw = range / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let unit = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .find(|&u| u * mag >= raw)
        .unwrap_or(10.0);
    unit * mag
}

/// `lo..hi` over every finite coordinate picked by `f`, widened when empty or flat.
fn bounds(chart: &Chart, f: impl Fn(&(f64, f64)) -> f64) -> (f64, f64) {
    let vals = chart.series.iter().flat_map(|s| s.points.iter().map(&f));
    let (lo, hi) = vals
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    match (lo.is_finite(), hi > lo) {
        (false, _) => (0.0, 1.0),
        (true, false) => (lo - 0.5, hi + 0.5),
        (true, true) => (lo, hi),
    }
}

/// Draws `chart` into a `width` × `height` PNG.
pub fn render_png(chart: &Chart, width: u32, height: u32) -> Result<Vec<u8>> {
    let mut cv = Canvas::new(width, height);
    let (ml, mr, mt, mb) = MARGIN;
    let (px0, px1, py0, py1) = (ml, cv.w - mr, mt, cv.h - mb);
    let (x_lo, x_hi) = bounds(chart, |p| p.0);
    let (y_lo, y_hi) = bounds(chart, |p| p.1);
    // Ticks on round values; the y range grows to the ticks around the data.
    let (xs, ys) = (tick_step(x_hi - x_lo), tick_step(y_hi - y_lo));
    let (y_lo, y_hi) = ((y_lo / ys).floor() * ys, (y_hi / ys).ceil() * ys);
    let to_px = |x: f64, y: f64| {
        (
            px0 as f64 + (x - x_lo) / (x_hi - x_lo) * (px1 - px0) as f64,
            py1 as f64 - (y - y_lo) / (y_hi - y_lo) * (py1 - py0) as f64,
        )
    };
    let decimals = |step: f64| (-step.log10().floor()).max(0.0) as usize;
    // Bounded loops: a range that overflowed to infinity must not spin forever.
    for y in (0..=MAX_TICKS).map(|k| y_lo + k as f64 * ys) {
        if y > y_hi + ys * 1e-6 {
            break;
        }
        let (_, py) = to_px(x_lo, y);
        cv.line((px0 as f64, py), (px1 as f64, py), 1, GRID);
        let label = format!("{y:.*}", decimals(ys));
        cv.text(
            px0 - 8 - text_width(&label),
            py as i64 - font::H as i64 * SCALE / 2,
            &label,
            INK,
        );
    }
    let x_first = (x_lo / xs).ceil() * xs;
    for x in (0..=MAX_TICKS).map(|k| x_first + k as f64 * xs) {
        if x > x_hi + xs * 1e-6 {
            break;
        }
        let (px, _) = to_px(x, y_lo);
        cv.line((px, py0 as f64), (px, py1 as f64), 1, GRID);
        let label = format!("{x:.*}", decimals(xs));
        cv.text(px as i64 - text_width(&label) / 2, py1 + 8, &label, INK);
    }
    cv.line((px0 as f64, py0 as f64), (px0 as f64, py1 as f64), 1, INK);
    cv.line((px0 as f64, py1 as f64), (px1 as f64, py1 as f64), 1, INK);
    for s in &chart.series {
        let mut last: Option<(f64, f64)> = None;
        for &(x, y) in s.points {
            if !(x.is_finite() && y.is_finite()) {
                last = None;
                continue;
            }
            let p = to_px(x, y);
            if let Some(prev) = last {
                cv.line(prev, p, s.width, s.color);
            }
            if s.markers {
                cv.rect(p.0 as i64 - 3, p.1 as i64 - 3, 7, 7, s.color);
            }
            last = Some(p);
        }
    }
    cv.text((cv.w - text_width(chart.title)) / 2, 14, chart.title, INK);
    cv.text(
        (px0 + px1 - text_width(chart.x_label)) / 2,
        cv.h - 24,
        chart.x_label,
        INK,
    );
    cv.text(8, 14, chart.y_label, INK);
    // The legend, top right inside the plot area.
    for (i, s) in chart.series.iter().enumerate() {
        let y = py0 + 10 + i as i64 * 22;
        let x = px1 - 40 - text_width(s.label);
        cv.rect(x - 4, y - 4, text_width(s.label) + 40, 22, WHITE);
        cv.rect(x, y + 5, 24, 4, s.color);
        cv.text(x + 32, y, s.label, INK);
    }
    encode_png(width, height, &cv.rgb)
}

/// An 8-bit RGB PNG: signature, IHDR, one IDAT of zlib-compressed scanlines, IEND.
pub fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let row = 3 * width as usize;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in rgb.chunks(row.max(1)) {
        raw.push(0); // filter: none
        raw.extend_from_slice(line);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).context("compressing the PNG")?;
    let idat = z.finish().context("compressing the PNG")?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr), (b"IDAT", &idat), (b"IEND", &Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let crc = crc32fast::hash(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The pixels of a PNG written by [`encode_png`].
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let (w, h) = (be(&png[16..20]), be(&png[20..24]));
        let idat_len = be(&png[33..37]) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[41..41 + idat_len])
            .read_to_end(&mut raw)
            .unwrap();
        let pixels = raw
            .chunks(3 * w as usize + 1)
            .flat_map(|r| r[1..].to_vec())
            .collect();
        (w, h, pixels)
    }

    #[test]
    fn png_round_trips_with_valid_crcs() {
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8).collect();
        let png = encode_png(3, 2, &rgb).unwrap();
        assert_eq!(decode(&png), (3, 2, rgb));
        // IHDR's CRC is the standard CRC-32 of its type and data.
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(
            u32::from_be_bytes(png[29..33].try_into().unwrap()),
            crc32fast::hash(&png[12..29])
        );
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND's fixed CRC");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(10.0), 2.0);
        assert_eq!(tick_step(1.0), 0.2);
        assert!((tick_step(0.37) - 0.1).abs() < 1e-12);
        assert_eq!(tick_step(0.0), 1.0);
    }

    #[test]
    fn the_chart_draws_every_series_in_its_colour() {
        let train: Vec<(f64, f64)> = (0..50).map(|i| (i as f64, 3.0 - 0.04 * i as f64)).collect();
        let val = [(0.0, 3.1), (25.0, 2.4), (49.0, f64::NAN), (50.0, 2.0)];
        let chart = Chart {
            title: "run-1: loss",
            x_label: "step",
            y_label: "loss",
            series: vec![
                Series {
                    label: "training loss",
                    points: &train,
                    color: [30, 100, 200],
                    width: 2,
                    markers: false,
                },
                Series {
                    label: "validation loss",
                    points: &val,
                    color: [230, 120, 20],
                    width: 2,
                    markers: true,
                },
            ],
        };
        let (w, h, px) = decode(&render_png(&chart, 640, 400).unwrap());
        assert_eq!((w, h), (640, 400));
        let count = |c: Rgb| px.chunks(3).filter(|p| *p == c).count();
        assert!(count([30, 100, 200]) > 500, "training line drawn");
        assert!(count([230, 120, 20]) > 100, "validation line drawn");
        assert!(count(INK) > 500, "axes and labels drawn");
        // An empty chart still renders.
        let empty = Chart {
            title: "",
            x_label: "",
            y_label: "",
            series: vec![],
        };
        assert!(render_png(&empty, 100, 100).is_ok());
    }
}
