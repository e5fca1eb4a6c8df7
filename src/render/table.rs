//! GFM tables: the rows are held until the table ends (or grows past a bound), then printed
//! with aligned columns. Past the bound, the widths found so far are kept and each further row
//! is printed as it completes. A table wider than the terminal is printed row by row without
//! padding, so it wraps no worse than its source.

use super::markdown::{cells, inline, Align, MARKER};
use super::style::{Emit, Style};

/// Rows held at most before the table is printed.
pub const MAX_ROWS: usize = 100;
/// Bytes of source held at most before the table is printed.
pub const MAX_BYTES: usize = 64 * 1024;

pub struct Table {
    aligns: Vec<Align>,
    /// The header, then the body rows, as source cells.
    rows: Vec<Vec<String>>,
    bytes: usize,
    /// Set once the held rows were printed: the widths every later row is padded to
    /// (`None`: too wide for the terminal, printed unpadded).
    printed: Option<Option<Vec<usize>>>,
}

impl Table {
    pub fn new(header: &str, aligns: Vec<Align>) -> Table {
        let mut t = Table {
            aligns,
            rows: Vec::new(),
            bytes: 0,
            printed: None,
        };
        t.push_row(header);
        t
    }

    fn push_row(&mut self, line: &str) {
        let n = self.aligns.len();
        let mut row: Vec<String> = cells(line).into_iter().take(n).map(String::from).collect();
        row.resize(n, String::new());
        self.bytes += line.len();
        self.rows.push(row);
    }

    /// A body row: held, or printed at once when the table was already printed.
    pub fn row(&mut self, line: &str, ctx: &Ctx, out: &mut Vec<u8>) {
        self.push_row(line);
        match &self.printed {
            Some(widths) => {
                let widths = widths.clone();
                if let Some(row) = self.rows.pop() {
                    let mut cells = Cells::default();
                    cells.render(&row, ctx.base, ctx);
                    self.write_row(&cells, widths.as_deref(), ctx, out);
                }
            }
            None if self.rows.len() > MAX_ROWS || self.bytes > MAX_BYTES => self.print(ctx, out),
            None => {}
        }
    }

    /// Print what is held (called when the table ends, or past the bound). Each cell is
    /// rendered once: its width measured from what was written.
    pub fn print(&mut self, ctx: &Ctx, out: &mut Vec<u8>) {
        if self.printed.is_some() {
            return;
        }
        let n = self.aligns.len();
        let mut widths = vec![0usize; n];
        let rows = std::mem::take(&mut self.rows);
        let mut rendered = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let base = if i == 0 { ctx.base.bold() } else { ctx.base };
            let mut cells = Cells::default();
            cells.render(row, base, ctx);
            for (w, cell) in widths.iter_mut().zip(&cells.spans) {
                *w = (*w).max(cell.2).max(1);
            }
            rendered.push(cells);
        }
        let total: usize = widths.iter().sum::<usize>() + 3 * n + 1;
        let widths = (total <= ctx.width).then_some(widths);
        for (i, cells) in rendered.iter().enumerate() {
            self.write_row(cells, widths.as_deref(), ctx, out);
            if i == 0 {
                self.write_delimiter(widths.as_deref(), ctx, out);
            }
        }
        self.printed = Some(widths);
    }

    fn write_row(&self, cells: &Cells, widths: Option<&[usize]>, ctx: &Ctx, out: &mut Vec<u8>) {
        let pipe = ctx.base.with(MARKER);
        let mut e = Emit::new(out, ctx.truecolor);
        e.text("|", pipe);
        for (i, &(start, end, w)) in cells.spans.iter().enumerate() {
            let room = widths
                .and_then(|ws| ws.get(i))
                .map_or(0, |&cw| cw.saturating_sub(w));
            let (left, right) = match self.aligns.get(i) {
                Some(Align::Right) => (room, 0),
                Some(Align::Center) => (room / 2, room - room / 2),
                _ => (0, room),
            };
            e.pad(1 + left, ctx.base);
            e.end();
            e.out.extend_from_slice(&cells.bytes[start..end]);
            e.col += w;
            e.pad(right + 1, ctx.base);
            e.text("|", pipe);
        }
        e.end();
        out.push(b'\n');
    }

    fn write_delimiter(&self, widths: Option<&[usize]>, ctx: &Ctx, out: &mut Vec<u8>) {
        let mut line = String::from("|");
        for (i, align) in self.aligns.iter().enumerate() {
            let w = widths.and_then(|ws| ws.get(i)).copied().unwrap_or(1) + 2;
            let (l, r) = match align {
                Align::Left => (":", "-"),
                Align::Center => (":", ":"),
                Align::Right => ("-", ":"),
                Align::None => ("-", "-"),
            };
            line.push_str(l);
            line.extend(std::iter::repeat_n('-', w.saturating_sub(2)));
            line.push_str(r);
            line.push('|');
        }
        let mut e = Emit::new(out, ctx.truecolor);
        e.text(&line, ctx.base.with(MARKER));
        e.end();
        out.push(b'\n');
    }
}

/// The cells of one row, rendered (inline spans, each ending in a reset) into one buffer:
/// for each, its bytes `start..end` and its width in columns.
#[derive(Default)]
struct Cells {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize, usize)>,
}

impl Cells {
    fn render(&mut self, row: &[String], base: Style, ctx: &Ctx) {
        for cell in row {
            let start = self.bytes.len();
            let mut e = Emit::new(&mut self.bytes, ctx.truecolor);
            inline(cell, base, &mut e);
            e.end();
            let w = e.col;
            self.spans.push((start, self.bytes.len(), w));
        }
    }
}

/// What printing needs from the renderer.
pub struct Ctx {
    pub base: Style,
    pub width: usize,
    pub truecolor: bool,
}
