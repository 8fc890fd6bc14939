//! One panel of the map: an address range drawn left to right, one row per nesting level
//! (aggregates, then segments), every block labeled with what fits in it, a numbered key for
//! what does not, and address ticks under it.

use std::collections::BTreeSet;
use std::fmt::Write;

use ipnet::Ipv4Net;

/// Width of the picture, and of a panel's strip inside its margins.
pub(crate) const WIDTH: f64 = 1600.0;
pub(crate) const MARGIN: f64 = 20.0;
const STRIP: f64 = WIDTH - 2.0 * MARGIN;
const ROW: f64 = 24.0;
/// Roughly how wide a character of the 11 px labels is, and of the 9 px two-line ones.
const CHAR: f64 = 6.4;
const SMALL_CHAR: f64 = 5.3;
const KEY_COLUMNS: usize = 5;
const KEY_LINE: f64 = 13.0;
/// More narrow cells than this in one row share one key line.
const KEY_RUN: usize = 24;

/// A block to draw.
pub(crate) struct Block {
    pub(crate) net: Ipv4Net,
    pub(crate) name: String,
    /// The SU, site or rail index, for a cell too narrow for the name.
    pub(crate) short: Option<String>,
    pub(crate) colour: String,
    pub(crate) aggregate: bool,
    /// Named in the key when its cell is too narrow, even if it is a segment (the overview's
    /// loose segments).
    pub(crate) named: bool,
}

/// A panel: a title, its range, its rows (outermost first), and a caption under it.
pub(crate) struct Panel {
    pub(crate) title: String,
    pub(crate) range: Ipv4Net,
    pub(crate) rows: Vec<Vec<Block>>,
    pub(crate) caption: Option<String>,
}

/// Draws `panel` at `y` and returns the `y` under it. With `detail`, every block is named (in
/// its cell or in the key); without, every aggregate is, and segments show their index where it
/// fits.
pub(crate) fn draw(out: &mut String, panel: &Panel, y: f64, detail: bool) -> f64 {
    let _ = writeln!(
        out,
        r#"<text x="{MARGIN}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
        y + 14.0,
        esc(&panel.title)
    );
    let top = y + 22.0;
    let start = f64::from(u32::from(panel.range.network()));
    let size = 2f64.powi(32 - i32::from(panel.range.prefix_len()));
    let x_of = |addr: u32| MARGIN + (f64::from(addr) - start) / size * STRIP;
    let _ = writeln!(
        out,
        r##"<rect x="{MARGIN}" y="{top}" width="{STRIP}" height="{}" fill="#f0f0f0"/>"##,
        ROW * panel.rows.len().max(1) as f64
    );
    let mut key: Vec<String> = Vec::new();
    let mut numbered = 0;
    for (r, row) in panel.rows.iter().enumerate() {
        let ry = top + ROW * r as f64;
        let cells: Vec<(f64, f64)> = row
            .iter()
            .map(|b| {
                let x = x_of(u32::from(b.net.network()));
                (x, (x_of(u32::from(b.net.broadcast())) + STRIP / size - x).max(0.5))
            })
            .collect();
        let labels: Vec<Label> = row.iter().zip(&cells).map(|(b, &(_, w))| label(b, w, detail)).collect();
        let keyed: Vec<&Block> =
            row.iter().zip(&labels).filter(|(_, l)| **l == Label::Key).map(|(b, _)| b).collect();
        // Without --detail, a long run of narrow cells (pods, SUs, sites) is one key line; each
        // block still carries its name and CIDR as its tooltip.
        let summarised = !detail && keyed.len() > KEY_RUN;
        if summarised && let (Some(first), Some(last)) = (keyed.first(), keyed.last()) {
            let lens: BTreeSet<u8> = keyed.iter().map(|b| b.net.prefix_len()).collect();
            let lens: Vec<String> = lens.iter().map(|l| format!("/{l}")).collect();
            key.push(format!(
                "all {} blocks ({}): {} {} to {} {}",
                keyed.len(),
                lens.join(", "),
                first.name,
                first.net,
                last.name,
                last.net
            ));
        }
        for ((b, &(x, w)), l) in row.iter().zip(&cells).zip(labels) {
            // A separating white edge would wash out cells narrower than a few pixels.
            let (opacity, stroke) = match (b.aggregate, w > 3.0) {
                (true, _) => ("0.3", b.colour.as_str()),
                (false, true) => ("1", "white"),
                (false, false) => ("1", "none"),
            };
            let _ = writeln!(
                out,
                r#"<rect x="{x:.2}" y="{ry}" width="{w:.2}" height="{}" fill="{}" fill-opacity="{opacity}" stroke="{stroke}" stroke-width="0.5"><title>{} {}</title></rect>"#,
                ROW - 2.0,
                b.colour,
                esc(&b.name),
                b.net
            );
            let fill = if b.aggregate { "#222" } else { "white" };
            let text = match l {
                Label::Text(text) => Some(text),
                Label::Two(name, cidr) => {
                    for (line, text) in [(10.0, name), (20.0, cidr)] {
                        let _ = writeln!(
                            out,
                            r#"<text x="{:.2}" y="{}" font-size="9" fill="{fill}">{}</text>"#,
                            x + 3.0,
                            ry + line,
                            esc(&text)
                        );
                    }
                    None
                }
                Label::Key if summarised => None,
                Label::Key => {
                    numbered += 1;
                    key.push(format!("{numbered} {} {}", b.name, b.net));
                    let number = numbered.to_string();
                    fits(&number, w).then_some(number)
                }
                Label::None => None,
            };
            if let Some(text) = text {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.2}" y="{}" font-size="11" fill="{fill}">{}</text>"#,
                    x + 3.0,
                    ry + 15.0,
                    esc(&text)
                );
            }
        }
    }
    let mut y = top + ROW * panel.rows.len().max(1) as f64;
    y = ticks(out, panel.range, y);
    if let Some(caption) = &panel.caption {
        let _ = writeln!(
            out,
            r##"<text x="{MARGIN}" y="{}" font-size="11" fill="#444">{}</text>"##,
            y + 12.0,
            esc(caption)
        );
        y += 16.0;
    }
    if !key.is_empty() {
        // Numbered in the cells where the number fits; every entry carries its CIDR, so a cell
        // too narrow even for its number is found by the ticks.
        let column = STRIP / KEY_COLUMNS as f64;
        for (i, entry) in key.iter().enumerate() {
            let (row, col) = (i / KEY_COLUMNS, i % KEY_COLUMNS);
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                MARGIN + column * col as f64,
                y + 12.0 + KEY_LINE * row as f64,
                esc(entry)
            );
        }
        y += KEY_LINE * key.len().div_ceil(KEY_COLUMNS) as f64 + 6.0;
    }
    y + 18.0
}

/// Address ticks at the start, the quarters and the end of the range.
fn ticks(out: &mut String, range: Ipv4Net, y: f64) -> f64 {
    let start = u64::from(u32::from(range.network()));
    let size = 1u64 << (32 - u32::from(range.prefix_len()));
    for q in 0..=4u64 {
        let x = MARGIN + STRIP * q as f64 / 4.0;
        let addr = if q == 4 { start + size - 1 } else { start + size * q / 4 };
        let text = std::net::Ipv4Addr::from(u32::try_from(addr).unwrap_or(u32::MAX));
        let anchor = match q {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = writeln!(out, r##"<line x1="{x:.1}" y1="{y}" x2="{x:.1}" y2="{}" stroke="#666"/>"##, y + 5.0);
        let _ = writeln!(
            out,
            r##"<text x="{x:.1}" y="{}" font-size="10" fill="#444" text-anchor="{anchor}">{text}</text>"##,
            y + 16.0
        );
    }
    y + 20.0
}

/// What a cell shows.
#[derive(PartialEq, Eq)]
enum Label {
    Text(String),
    /// Name over CIDR, in small type.
    Two(String, String),
    /// A number pointing into the key under the panel.
    Key,
    None,
}

/// The longest label that fits a cell `w` wide: name and CIDR on one line or two; for a segment
/// its name, or (without `detail`) its index. Else a key entry for what must be named: an
/// aggregate or a block marked `named` (with its CIDR), every segment with `detail`.
fn label(b: &Block, w: f64, detail: bool) -> Label {
    let full = format!("{} {}", b.name, b.net);
    let small = |text: &str| text.len() as f64 * SMALL_CHAR + 6.0 <= w;
    if fits(&full, w) {
        Label::Text(full)
    } else if small(&b.name) && small(&b.net.to_string()) {
        Label::Two(b.name.clone(), b.net.to_string())
    } else if b.aggregate || b.named {
        // Named with its CIDR, so in the key when both do not fit.
        Label::Key
    } else if fits(&b.name, w) {
        Label::Text(b.name.clone())
    } else if detail {
        Label::Key
    } else {
        b.short.clone().filter(|s| fits(s, w)).map_or(Label::None, Label::Text)
    }
}

fn fits(text: &str, w: f64) -> bool {
    text.len() as f64 * CHAR + 6.0 <= w
}

/// Text for SVG: the few characters XML gives a meaning.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
