//! SVG plots (plotters), with fault windows shaded and labelled.

use plotters::prelude::*;
pub use plotters::style::RGBColor;

/// A fault window to shade: (label, start s, end s, colour "#rrggbb").
#[derive(Debug, Clone)]
pub struct Shade {
    /// Fault name.
    pub label: String,
    /// Start, seconds.
    pub start: f64,
    /// End (heal), seconds; the end of the plot if never healed.
    pub end: f64,
    /// Colour.
    pub color: String,
}

/// A point of the latency plot: (invoke s, latency ms, outcome 0 ok / 1 fail / 2 info).
pub type LatencyPoint = (f64, f64, u8);

const W: u32 = 960;
const H: u32 = 300;

fn rgb(hex: &str) -> RGBColor {
    let h = hex.trim_start_matches('#');
    let p = |i: usize| u8::from_str_radix(h.get(i..i + 2).unwrap_or("88"), 16).unwrap_or(0x88);
    RGBColor(p(0), p(2), p(4))
}

/// The three outcome colours.
pub const OUTCOME: [(&str, RGBColor); 3] = [("ok", RGBColor(0x2a, 0x9d, 0x4a)), ("fail", RGBColor(0xd6, 0x3a, 0x3a)), ("info", RGBColor(0xe0, 0x9a, 0x10))];

fn shade_windows<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, impl Ranged<ValueType = f64>>>,
    shades: &[Shade],
    y0: f64,
    y1: f64,
) {
    for s in shades {
        let c = rgb(&s.color);
        let _ = chart.draw_series(std::iter::once(Rectangle::new([(s.start, y0), (s.end, y1)], c.mix(0.35).filled())));
        let _ = chart.draw_series(std::iter::once(Text::new(s.label.clone(), (s.start, y1), ("sans-serif", 11).into_font().color(&BLACK))));
    }
}

fn finish(buf: String) -> String {
    buf
}

/// Latency of every op by outcome, log scale.
pub fn latency(points: &[LatencyPoint], shades: &[Shade], t_end: f64) -> String {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (W, H)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max = points.iter().map(|p| p.1).fold(10.0f64, f64::max) * 1.5;
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption("latency (ms, log scale) by outcome", ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..t_end.max(1.0), (0.1f64..max).log_scale())
        else {
            return String::new();
        };
        let _ = chart.configure_mesh().x_desc("seconds").light_line_style(WHITE).draw();
        shade_windows(&mut chart, shades, 0.1, max);
        for (k, (name, color)) in OUTCOME.iter().enumerate() {
            let pts = points.iter().filter(|p| p.2 as usize == k).map(|p| Circle::new((p.0, p.1.max(0.1)), 2, color.mix(0.6).filled()));
            if let Ok(s) = chart.draw_series(pts) {
                s.label(*name).legend(move |(x, y)| Circle::new((x, y), 3, color.filled()));
            }
        }
        let _ = chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw();
        let _ = root.present();
    }
    finish(buf)
}

/// One line of a line plot: its label, colour and (x, y) points.
pub type Series = (String, RGBColor, Vec<(f64, f64)>);

/// Lines over time: (label, colour, points).
pub fn lines(title: &str, y_desc: &str, series: &[Series], shades: &[Shade], t_end: f64) -> String {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (W, H)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max = series.iter().flat_map(|s| s.2.iter().map(|p| p.1)).fold(1.0f64, f64::max) * 1.1;
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..t_end.max(1.0), 0f64..max)
        else {
            return String::new();
        };
        let _ = chart.configure_mesh().x_desc("seconds").y_desc(y_desc).light_line_style(WHITE).draw();
        shade_windows(&mut chart, shades, 0.0, max);
        for (name, color, pts) in series {
            let c = *color;
            if let Ok(s) = chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2))) {
                s.label(name.clone()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], c.stroke_width(2)));
            }
        }
        let _ = chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw();
        let _ = root.present();
    }
    finish(buf)
}

/// Availability heatmap: one row per (node, service), one cell per time
/// bucket, colour from red (no success) to green (all ok); grey: no ops.
pub fn heatmap(rows: &[(String, Vec<[u32; 3]>)], bucket_s: f64, shades: &[Shade]) -> String {
    heatmap_titled("availability per node and service (success ratio per second)", rows, bucket_s, shades)
}

/// [`heatmap`] with a caption of its own (each cell green as its first
/// count's share, red as the rest).
pub fn heatmap_titled(caption: &str, rows: &[(String, Vec<[u32; 3]>)], bucket_s: f64, shades: &[Shade]) -> String {
    let mut buf = String::new();
    {
        let n = rows.len().max(1);
        let h = 60 + 22 * n as u32;
        let root = SVGBackend::with_string(&mut buf, (W, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let buckets = rows.iter().map(|r| r.1.len()).max().unwrap_or(1).max(1);
        let t_end = buckets as f64 * bucket_s;
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..t_end, 0f64..n as f64)
        else {
            return String::new();
        };
        // rows are labelled at their middles below (axis ticks fall on row edges)
        let _ = chart.configure_mesh().disable_mesh().y_labels(0).draw();
        for (i, (_, cells)) in rows.iter().enumerate() {
            let rects = cells.iter().enumerate().map(|(b, c)| {
                let total = c[0] + c[1] + c[2];
                let color = if total == 0 {
                    RGBColor(0xdd, 0xdd, 0xdd)
                } else {
                    let r = c[0] as f64 / total as f64;
                    RGBColor((220.0 * (1.0 - r)) as u8 + 30, (180.0 * r) as u8 + 40, 60)
                };
                let x = b as f64 * bucket_s;
                Rectangle::new([(x, i as f64 + 0.1), (x + bucket_s, i as f64 + 0.9)], color.filled())
            });
            let _ = chart.draw_series(rects);
        }
        for s in shades {
            let c = rgb(&s.color);
            let _ = chart.draw_series(std::iter::once(Rectangle::new([(s.start, 0.0), (s.end, n as f64)], c.stroke_width(2))));
        }
        for (i, (label, _)) in rows.iter().enumerate() {
            let (_, py) = chart.backend_coord(&(0.0, i as f64 + 0.5));
            let _ = root.draw(&Text::new(label.clone(), (10, py - 7), ("sans-serif", 13)));
        }
        let _ = root.present();
    }
    finish(buf)
}

/// Per-bucket latency quantiles (p50, p95, p99, max) of ok ops.
pub fn quantiles(points: &[LatencyPoint], bucket_s: f64, t_end: f64) -> Vec<Series> {
    let n = (t_end / bucket_s).ceil().max(1.0) as usize;
    let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); n];
    for p in points.iter().filter(|p| p.2 == 0) {
        let b = ((p.0 / bucket_s) as usize).min(n - 1);
        buckets[b].push(p.1);
    }
    let qs = [
        ("p50", 0.5, RGBColor(0x30, 0x70, 0xc0)),
        ("p95", 0.95, RGBColor(0xe0, 0x9a, 0x10)),
        ("p99", 0.99, RGBColor(0xd6, 0x3a, 0x3a)),
        ("max", 1.0, RGBColor(0x60, 0x60, 0x60)),
    ];
    for b in &mut buckets {
        b.sort_by(f64::total_cmp);
    }
    qs.iter()
        .map(|(name, q, c)| {
            let pts = buckets
                .iter()
                .enumerate()
                .filter(|(_, b)| !b.is_empty())
                .map(|(i, b)| ((i as f64 + 0.5) * bucket_s, b[((b.len() - 1) as f64 * q).round() as usize]))
                .collect();
            (name.to_string(), *c, pts)
        })
        .collect()
}
