//! A small software rasteriser for the `compare` chart's PNG: an RGB canvas,
//! anti-aliased wide lines and polylines (solid or dashed), a 5x7 bitmap font
//! (printable ASCII, drawn at an integer scale, horizontal or rotated to read
//! bottom-up), and the PNG encoding (the `png` crate).
//!
//! Lines are anti-aliased by coverage: a pixel's share of the line is how far
//! its centre lies inside the line's half width (clamped to 0..=1), the
//! largest over all segments of one polyline, so joints are not blended twice.

/// An RGB colour.
pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];

/// Glyph cell: 5 columns; rows 0..=6 above the baseline, 7 and 8 below it
/// (descenders, underscore).
pub const GLYPH_W: usize = 5;
pub const GLYPH_H: usize = 9;
/// Rows above the baseline.
pub const GLYPH_ASCENT: usize = 7;
/// Horizontal advance per character, in font pixels (glyph plus one column).
pub const ADVANCE: usize = GLYPH_W + 1;

/// Printable ASCII (32..=126), one row per byte, bit 4 the leftmost column.
#[rustfmt::skip]
const GLYPHS: [[u8; GLYPH_H]; 95] = [
    [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000], // ' '
    [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00100, 0b00000, 0b00000], // '!'
    [0b01010, 0b01010, 0b01010, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000], // '"'
    [0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010, 0b00000, 0b00000], // '#'
    [0b00100, 0b01111, 0b10100, 0b01110, 0b00101, 0b11110, 0b00100, 0b00000, 0b00000], // '$'
    [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011, 0b00000, 0b00000], // '%'
    [0b01100, 0b10010, 0b10100, 0b01000, 0b10101, 0b10010, 0b01101, 0b00000, 0b00000], // '&'
    [0b00100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000], // '\''
    [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010, 0b00000, 0b00000], // '('
    [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000, 0b00000, 0b00000], // ')'
    [0b00000, 0b00100, 0b10101, 0b01110, 0b10101, 0b00100, 0b00000, 0b00000, 0b00000], // '*'
    [0b00000, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0b00000, 0b00000, 0b00000], // '+'
    [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100, 0b00100, 0b01000], // ','
    [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000], // '-'
    [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100, 0b00000, 0b00000], // '.'
    [0b00000, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b00000, 0b00000, 0b00000], // '/'
    [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110, 0b00000, 0b00000], // '0'
    [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0b00000, 0b00000], // '1'
    [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111, 0b00000, 0b00000], // '2'
    [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110, 0b00000, 0b00000], // '3'
    [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010, 0b00000, 0b00000], // '4'
    [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110, 0b00000, 0b00000], // '5'
    [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000], // '6'
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00000, 0b00000], // '7'
    [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000], // '8'
    [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100, 0b00000, 0b00000], // '9'
    [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000, 0b00000, 0b00000], // ':'
    [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00100, 0b01000, 0b00000], // ';'
    [0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010, 0b00000, 0b00000], // '<'
    [0b00000, 0b00000, 0b11111, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000, 0b00000], // '='
    [0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000, 0b00000, 0b00000], // '>'
    [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100, 0b00000, 0b00000], // '?'
    [0b01110, 0b10001, 0b10111, 0b10101, 0b10111, 0b10000, 0b01110, 0b00000, 0b00000], // '@'
    [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000], // 'A'
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110, 0b00000, 0b00000], // 'B'
    [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110, 0b00000, 0b00000], // 'C'
    [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100, 0b00000, 0b00000], // 'D'
    [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111, 0b00000, 0b00000], // 'E'
    [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000, 0b00000, 0b00000], // 'F'
    [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111, 0b00000, 0b00000], // 'G'
    [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000], // 'H'
    [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0b00000, 0b00000], // 'I'
    [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100, 0b00000, 0b00000], // 'J'
    [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001, 0b00000, 0b00000], // 'K'
    [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111, 0b00000, 0b00000], // 'L'
    [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000], // 'M'
    [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001, 0b00000, 0b00000], // 'N'
    [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000], // 'O'
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000, 0b00000, 0b00000], // 'P'
    [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101, 0b00000, 0b00000], // 'Q'
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001, 0b00000, 0b00000], // 'R'
    [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110, 0b00000, 0b00000], // 'S'
    [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00000], // 'T'
    [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000], // 'U'
    [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00000, 0b00000], // 'V'
    [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010, 0b00000, 0b00000], // 'W'
    [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001, 0b00000, 0b00000], // 'X'
    [0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00000], // 'Y'
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111, 0b00000, 0b00000], // 'Z'
    [0b01110, 0b01000, 0b01000, 0b01000, 0b01000, 0b01000, 0b01110, 0b00000, 0b00000], // '['
    [0b00000, 0b10000, 0b01000, 0b00100, 0b00010, 0b00001, 0b00000, 0b00000, 0b00000], // '\\'
    [0b01110, 0b00010, 0b00010, 0b00010, 0b00010, 0b00010, 0b01110, 0b00000, 0b00000], // ']'
    [0b00100, 0b01010, 0b10001, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000], // '^'
    [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b11111, 0b00000], // '_'
    [0b01000, 0b00100, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000], // '`'
    [0b00000, 0b00000, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111, 0b00000, 0b00000], // 'a'
    [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110, 0b00000, 0b00000], // 'b'
    [0b00000, 0b00000, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110, 0b00000, 0b00000], // 'c'
    [0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111, 0b00000, 0b00000], // 'd'
    [0b00000, 0b00000, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110, 0b00000, 0b00000], // 'e'
    [0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000, 0b00000, 0b00000], // 'f'
    [0b00000, 0b00000, 0b01111, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110], // 'g'
    [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000], // 'h'
    [0b00100, 0b00000, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110, 0b00000, 0b00000], // 'i'
    [0b00010, 0b00000, 0b00110, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100], // 'j'
    [0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b00000, 0b00000], // 'k'
    [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0b00000, 0b00000], // 'l'
    [0b00000, 0b00000, 0b11010, 0b10101, 0b10101, 0b10101, 0b10101, 0b00000, 0b00000], // 'm'
    [0b00000, 0b00000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0b00000, 0b00000], // 'n'
    [0b00000, 0b00000, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110, 0b00000, 0b00000], // 'o'
    [0b00000, 0b00000, 0b11110, 0b10001, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000], // 'p'
    [0b00000, 0b00000, 0b01111, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001], // 'q'
    [0b00000, 0b00000, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000, 0b00000, 0b00000], // 'r'
    [0b00000, 0b00000, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110, 0b00000, 0b00000], // 's'
    [0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110, 0b00000, 0b00000], // 't'
    [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101, 0b00000, 0b00000], // 'u'
    [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00000, 0b00000], // 'v'
    [0b00000, 0b00000, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010, 0b00000, 0b00000], // 'w'
    [0b00000, 0b00000, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b00000, 0b00000], // 'x'
    [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110], // 'y'
    [0b00000, 0b00000, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111, 0b00000, 0b00000], // 'z'
    [0b00011, 0b00100, 0b00100, 0b01000, 0b00100, 0b00100, 0b00011, 0b00000, 0b00000], // '{'
    [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00000, 0b00000], // '|'
    [0b11000, 0b00100, 0b00100, 0b00010, 0b00100, 0b00100, 0b11000, 0b00000, 0b00000], // '}'
    [0b00000, 0b00000, 0b01000, 0b10101, 0b00010, 0b00000, 0b00000, 0b00000, 0b00000], // '~'
];

/// The glyph of `c`: printable ASCII as is, anything else as '?'.
pub fn glyph(c: char) -> &'static [u8; GLYPH_H] {
    let i = match c {
        ' '..='~' => c as usize - 32,
        _ => '?' as usize - 32,
    };
    &GLYPHS[i]
}

/// Where a text's `x` is: at its start, middle or end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// Width in pixels of `s` drawn at `scale`.
pub fn text_width(s: &str, scale: usize) -> usize {
    let n = s.chars().count();
    if n == 0 {
        0
    } else {
        (n * ADVANCE - 1) * scale
    }
}

/// An RGB image, row-major, 3 bytes a pixel.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, background: Rgb) -> Canvas {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            pixels.extend_from_slice(&background);
        }
        Canvas {
            width,
            height,
            pixels,
        }
    }

    pub fn get(&self, x: usize, y: usize) -> Option<Rgb> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y * self.width + x) * 3;
        Some([self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]])
    }

    /// Sets a pixel; coordinates outside the canvas are ignored.
    pub fn set(&mut self, x: i64, y: i64, c: Rgb) {
        self.blend(x, y, c, 1.0);
    }

    /// Mixes `c` into a pixel with opacity `a` (0..=1).
    pub fn blend(&mut self, x: i64, y: i64, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height || a <= 0.0 {
            return;
        }
        let i = (y as usize * self.width + x as usize) * 3;
        let a = a.min(1.0);
        for (dst, src) in self.pixels[i..i + 3].iter_mut().zip(c) {
            let old = f32::from(*dst);
            *dst = (old + (f32::from(src) - old) * a).round() as u8;
        }
    }

    /// Fills the rectangle [x0, x1) x [y0, y1) (clipped).
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        for y in y0.max(0)..y1.min(self.height as i64) {
            for x in x0.max(0)..x1.min(self.width as i64) {
                self.set(x, y, c);
            }
        }
    }

    /// A one-pixel line from (x0, y0) to (x1, y1), both ends included
    /// (Bresenham; for the crisp horizontal and vertical grid lines).
    pub fn thin_line(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.set(x, y, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// An anti-aliased polyline `width` pixels wide through `points`
    /// (pixel coordinates, pixel centres at +0.5), dashed when `dash` is
    /// (on, off) lengths in pixels.
    pub fn polyline(
        &mut self,
        points: &[(f64, f64)],
        width: f64,
        c: Rgb,
        dash: Option<(f64, f64)>,
    ) {
        let segments = match dash {
            Some((on, off)) if on > 0.0 && off > 0.0 => dashes(points, on, off),
            _ => points.windows(2).map(|w| (w[0], w[1])).collect(),
        };
        let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
        let segments: Vec<_> = segments
            .into_iter()
            .filter(|(a, b)| finite(a) && finite(b))
            .collect();
        if segments.is_empty() {
            return;
        }
        let hw = width / 2.0;
        let pad = hw + 1.0;
        let (mut bx0, mut by0, mut bx1, mut by1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (a, b) in &segments {
            bx0 = bx0.min(a.0.min(b.0) - pad);
            by0 = by0.min(a.1.min(b.1) - pad);
            bx1 = bx1.max(a.0.max(b.0) + pad);
            by1 = by1.max(a.1.max(b.1) + pad);
        }
        // Clip the box to the canvas.
        let bx0 = bx0.floor().max(0.0) as i64;
        let by0 = by0.floor().max(0.0) as i64;
        let bx1 = (bx1.ceil() as i64).min(self.width as i64);
        let by1 = (by1.ceil() as i64).min(self.height as i64);
        if bx1 <= bx0 || by1 <= by0 {
            return;
        }
        let bw = (bx1 - bx0) as usize;
        let mut mask = vec![0f32; bw * (by1 - by0) as usize];
        for (a, b) in &segments {
            let x0 = ((a.0.min(b.0) - pad).floor() as i64).max(bx0);
            let x1 = ((a.0.max(b.0) + pad).ceil() as i64).min(bx1);
            let y0 = ((a.1.min(b.1) - pad).floor() as i64).max(by0);
            let y1 = ((a.1.max(b.1) + pad).ceil() as i64).min(by1);
            for y in y0..y1 {
                for x in x0..x1 {
                    let d = dist_to_segment((x as f64 + 0.5, y as f64 + 0.5), *a, *b);
                    let cov = (hw + 0.5 - d).clamp(0.0, 1.0) as f32;
                    let m = &mut mask[(y - by0) as usize * bw + (x - bx0) as usize];
                    *m = m.max(cov);
                }
            }
        }
        for (i, cov) in mask.iter().enumerate() {
            if *cov > 0.0 {
                self.blend(bx0 + (i % bw) as i64, by0 + (i / bw) as i64, c, *cov);
            }
        }
    }

    /// Draws `s` with its baseline at `y`, anchored at `x`, each font pixel
    /// a `scale` x `scale` square.
    pub fn text(&mut self, x: i64, y: i64, s: &str, scale: usize, anchor: Anchor, c: Rgb) {
        let w = text_width(s, scale) as i64;
        let x0 = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - w / 2,
            Anchor::End => x - w,
        };
        let top = y - (GLYPH_ASCENT * scale) as i64;
        each_text_pixel(s, scale, |dx, dy| self.set(x0 + dx, top + dy, c));
    }

    /// Draws `s` rotated a quarter turn counter-clockwise (reading
    /// bottom-up), centred on `y`, its baseline at `x`.
    pub fn text_up(&mut self, x: i64, y: i64, s: &str, scale: usize, c: Rgb) {
        let w = text_width(s, scale) as i64;
        let bottom = y + w / 2;
        let left = x - (GLYPH_ASCENT * scale) as i64;
        each_text_pixel(s, scale, |dx, dy| self.set(left + dy, bottom - dx, c));
    }

    /// The image as a PNG file (8-bit RGB).
    pub fn to_png(&self) -> Result<Vec<u8>, String> {
        let w = u32::try_from(self.width).map_err(|_| "image too wide for PNG")?;
        let h = u32::try_from(self.height).map_err(|_| "image too tall for PNG")?;
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().map_err(|e| format!("png: {e}"))?;
        wr.write_image_data(&self.pixels)
            .map_err(|e| format!("png: {e}"))?;
        wr.finish().map_err(|e| format!("png: {e}"))?;
        Ok(out)
    }
}

/// Calls `f(dx, dy)` for every lit pixel of `s` at `scale`, relative to
/// the text's top left corner.
fn each_text_pixel(s: &str, scale: usize, mut f: impl FnMut(i64, i64)) {
    for (i, ch) in s.chars().enumerate() {
        let g = glyph(ch);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..GLYPH_W {
                if bits & (1 << (GLYPH_W - 1 - col)) == 0 {
                    continue;
                }
                let gx = ((i * ADVANCE + col) * scale) as i64;
                let gy = (row * scale) as i64;
                for sy in 0..scale as i64 {
                    for sx in 0..scale as i64 {
                        f(gx + sx, gy + sy);
                    }
                }
            }
        }
    }
}

/// Distance from `p` to the segment `a`-`b`.
fn dist_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (vx, vy) = (b.0 - a.0, b.1 - a.1);
    let len2 = vx * vx + vy * vy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * vx + (p.1 - a.1) * vy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.0 + t * vx, a.1 + t * vy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

/// The drawn pieces of a dashed polyline: `on` pixels drawn, `off` skipped,
/// the pattern running on across vertices.
fn dashes(points: &[(f64, f64)], on: f64, off: f64) -> Vec<((f64, f64), (f64, f64))> {
    let mut out = Vec::new();
    // Position within the current on+off period.
    let mut phase = 0.0;
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if !len.is_finite() || len <= 0.0 {
            continue;
        }
        let at = |s: f64| (a.0 + (b.0 - a.0) * s / len, a.1 + (b.1 - a.1) * s / len);
        let mut s = 0.0;
        while s < len {
            let (left, drawing) = if phase < on {
                (on - phase, true)
            } else {
                (on + off - phase, false)
            };
            let step = left.min(len - s);
            if drawing {
                out.push((at(s), at(s + step)));
            }
            s += step;
            phase += step;
            if phase >= on + off - 1e-9 {
                phase = 0.0;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLACK: Rgb = [0, 0, 0];

    fn lit(c: &Canvas) -> usize {
        c.pixels.chunks(3).filter(|p| *p != WHITE).count()
    }

    #[test]
    fn glyphs_render() {
        let mut c = Canvas::new(40, 20, WHITE);
        c.text(2, 10, " ", 1, Anchor::Start, BLACK);
        assert_eq!(lit(&c), 0, "a space sets no pixel");
        c.text(2, 10, "1", 1, Anchor::Start, BLACK);
        // '1' has 10 lit font pixels, all above the baseline.
        assert_eq!(lit(&c), 10);
        assert_eq!(c.get(4, 3), Some(BLACK), "top of the stem");
        assert_eq!(c.get(4, 10), Some(WHITE), "baseline row is below the glyph");
        let mut c2 = Canvas::new(40, 20, WHITE);
        c2.text(2, 16, "1", 2, Anchor::Start, BLACK);
        assert_eq!(lit(&c2), 40, "scale 2: four pixels per font pixel");
        // Every printable ASCII character but the space has a glyph; others fall back to '?'.
        for ch in '!'..='~' {
            assert!(glyph(ch).iter().any(|r| *r != 0), "{ch:?} is blank");
            assert!(glyph(ch).iter().all(|r| *r < 32), "{ch:?} wider than 5");
        }
        assert_eq!(glyph('→'), glyph('?'));
        // Descenders go below the baseline.
        assert!(glyph('g')[GLYPH_ASCENT..].iter().any(|r| *r != 0));
        assert!(glyph('a')[GLYPH_ASCENT..].iter().all(|r| *r == 0));
    }

    #[test]
    fn text_anchors_and_rotation() {
        assert_eq!(text_width("ab", 1), 11);
        assert_eq!(text_width("", 3), 0);
        let mut c = Canvas::new(60, 60, WHITE);
        c.text(30, 20, "|", 1, Anchor::End, BLACK);
        // '|' is column 2 of a 5-wide glyph ending at x = 30.
        assert_eq!(c.get(27, 15), Some(BLACK));
        let mut c = Canvas::new(60, 60, WHITE);
        c.text_up(20, 30, "-", 1, BLACK);
        // '-' (row 3, columns 0..5) turned upright: a vertical bar at x = 20 - 7 + 3.
        let col: Vec<usize> = (0..60).filter(|y| c.get(16, *y) == Some(BLACK)).collect();
        assert_eq!(col.len(), 5, "{col:?}");
        assert_eq!(lit(&c), 5);
    }

    #[test]
    fn lines() {
        let mut c = Canvas::new(20, 20, WHITE);
        c.thin_line(1, 1, 18, 5, BLACK);
        assert_eq!(c.get(1, 1), Some(BLACK));
        assert_eq!(c.get(18, 5), Some(BLACK));
        assert_eq!(lit(&c), 18, "one pixel per column");
        let mut c = Canvas::new(40, 40, WHITE);
        let red = [255, 0, 0];
        c.polyline(&[(5.0, 20.0), (35.0, 20.0)], 4.0, red, None);
        assert_eq!(c.get(20, 19), Some(red), "inside the 4 px line");
        assert_eq!(c.get(20, 10), Some(WHITE));
        // Dashed: gaps along the line.
        let mut d = Canvas::new(40, 40, WHITE);
        d.polyline(&[(0.0, 20.0), (40.0, 20.0)], 2.0, red, Some((6.0, 4.0)));
        let row: Vec<bool> = (0..40).map(|x| d.get(x, 19) == Some(red)).collect();
        assert!(row[2] && !row[8] && row[12], "{row:?}");
        // Non-finite points are skipped, not drawn or panicked on.
        d.polyline(&[(f64::NAN, 1.0), (3.0, 3.0)], 2.0, red, None);
    }

    #[test]
    fn png_round_trip() {
        let mut c = Canvas::new(7, 5, WHITE);
        c.set(3, 2, [1, 2, 3]);
        let bytes = c.to_png().unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (7, 5));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(&buf[(2 * 7 + 3) * 3..][..3], &[1, 2, 3]);
        assert_eq!(&buf[..3], &WHITE);
    }
}
