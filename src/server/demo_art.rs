//! Procedural pictures for the demo listings.
//!
//! The demo market needs a photo for every listing, but the project ships no downloaded images.
//! Instead, [`paint`] draws a small flat illustration of a product category pixel by pixel: sky
//! gradients, terraced hills, fruit, fish, hens and woven bamboo are built from signed distance
//! functions, and every edge is anti-aliased by turning the distance to the shape into a
//! fractional coverage. All variation (positions, hues, counts) comes from a small deterministic
//! hash of the category and a variant number, so the same inputs always give the same picture and
//! the demo needs no random number crate and no image files.

use image::{Rgb, RgbImage};
use std::f32::consts::{PI, TAU};

/// Paints a picture for a listing of `category` ("tea", "vegetables", "fruit", "grain_oil",
/// "aquatic", "livestock", "handicraft"; anything else gets a generic still life).
///
/// `variant` moves, recolours and recounts the elements so that listings of one category look
/// different from each other. The result is deterministic and never panics; any size works, though
/// pictures smaller than about 16 × 16 pixels carry little detail.
pub fn paint(category: &str, variant: u32, width: u32, height: u32) -> RgbImage {
    let seed = scene_seed(category, variant);
    let mut rng = Rng::new(seed);
    let mut canvas = Canvas::new(width, height);
    match category {
        "tea" => paint_tea(&mut canvas, &mut rng),
        "vegetables" => paint_vegetables(&mut canvas, &mut rng, variant),
        "fruit" => paint_fruit(&mut canvas, &mut rng, variant),
        "grain_oil" => paint_grain(&mut canvas, &mut rng),
        "aquatic" => paint_aquatic(&mut canvas, &mut rng, variant),
        "livestock" => paint_livestock(&mut canvas, &mut rng, variant),
        "handicraft" => paint_handicraft(&mut canvas, &mut rng),
        _ => paint_still_life(&mut canvas, &mut rng),
    }
    canvas.into_image(seed as u32)
}

// ---------------------------------------------------------------------------------------------
// Numbers and colours
// ---------------------------------------------------------------------------------------------

type Point = (f32, f32);

fn clamp01(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

fn mix(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Hermite smoothing of `x` between the edges; the edges may be given in either order.
fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let span = edge1 - edge0;
    if span.abs() < 1e-6 {
        return if x < edge0 { 0.0 } else { 1.0 };
    }
    let t = clamp01((x - edge0) / span);
    t * t * (3.0 - 2.0 * t)
}

fn fract(x: f32) -> f32 {
    x - x.floor()
}

fn bezier(p0: Point, p1: Point, p2: Point, t: f32) -> Point {
    let u = 1.0 - t;
    (
        u * u * p0.0 + 2.0 * u * t * p1.0 + t * t * p2.0,
        u * u * p0.1 + 2.0 * u * t * p1.1 + t * t * p2.1,
    )
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Colour {
    r: f32,
    g: f32,
    b: f32,
}

/// A colour from a 0xRRGGBB literal.
fn hex(code: u32) -> Colour {
    let channel = |shift: u32| ((code >> shift) & 0xff) as f32 / 255.0;
    Colour {
        r: channel(16),
        g: channel(8),
        b: channel(0),
    }
}

const WHITE: Colour = Colour {
    r: 1.0,
    g: 1.0,
    b: 1.0,
};

impl Colour {
    fn mix(self, other: Colour, t: f32) -> Colour {
        Colour {
            r: mix(self.r, other.r, t),
            g: mix(self.g, other.g, t),
            b: mix(self.b, other.b, t),
        }
    }

    /// Multiplies the brightness (values above 1 lighten, below 1 darken).
    fn scale(self, k: f32) -> Colour {
        Colour {
            r: self.r * k,
            g: self.g * k,
            b: self.b * k,
        }
    }

    /// Moves each channel a little, by up to `amount`, so repeated elements are not identical.
    fn vary(self, rng: &mut Rng, amount: f32) -> Colour {
        let k = 1.0 + rng.range(-amount, amount);
        Colour {
            r: self.r * k + rng.range(-amount, amount) * 0.5,
            g: self.g * k + rng.range(-amount, amount) * 0.5,
            b: self.b * k + rng.range(-amount, amount) * 0.5,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast and good enough to place fish and leaves.
struct Rng {
    state: u64,
}

impl Rng {
    fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / 16_777_216.0
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        mix(lo, hi, self.unit())
    }

    /// Uniform integer in [lo, hi] (inclusive); `lo` when the range is empty.
    fn between(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        let span = u64::from(hi - lo) + 1;
        lo + (self.next_u64() % span) as u32
    }

    fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    fn sign(&mut self) -> f32 {
        if self.chance(0.5) {
            1.0
        } else {
            -1.0
        }
    }
}

/// FNV-1a over the category, folded with the variant.
fn scene_seed(category: &str, variant: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in category.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ u64::from(variant).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A hash of a lattice point to [0, 1].
fn hash2(x: i32, y: i32, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x8da6_b343)
        ^ (y as u32).wrapping_mul(0xd816_3841)
        ^ seed.wrapping_mul(0xcb1a_b31f);
    h ^= h >> 13;
    h = h.wrapping_mul(0x5bd1_e995);
    h ^= h >> 15;
    (h & 0x00ff_ffff) as f32 / 16_777_215.0
}

/// Smooth value noise in [0, 1].
fn noise(x: f32, y: f32, seed: u32) -> f32 {
    let (xf, yf) = (x.floor(), y.floor());
    let (ix, iy) = (xf as i32, yf as i32);
    let (fx, fy) = (x - xf, y - yf);
    let (u, v) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let corner = |dx: i32, dy: i32| hash2(ix.wrapping_add(dx), iy.wrapping_add(dy), seed);
    let top = mix(corner(0, 0), corner(1, 0), u);
    let bottom = mix(corner(0, 1), corner(1, 1), u);
    mix(top, bottom, v)
}

/// Three octaves of value noise in [0, 1].
fn fbm(x: f32, y: f32, seed: u32) -> f32 {
    let a = noise(x, y, seed);
    let b = noise(x * 2.03, y * 2.03, seed.wrapping_add(17));
    let c = noise(x * 4.11, y * 4.11, seed.wrapping_add(31));
    (a * 4.0 + b * 2.0 + c) / 7.0
}

// ---------------------------------------------------------------------------------------------
// Signed distances (in pixels; negative inside)
// ---------------------------------------------------------------------------------------------

fn circle(x: f32, y: f32, cx: f32, cy: f32, r: f32) -> f32 {
    (x - cx).hypot(y - cy) - r
}

/// An approximate ellipse distance, exact enough for anti-aliasing.
fn ellipse(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> f32 {
    let (rx, ry) = (rx.max(0.01), ry.max(0.01));
    let (px, py) = ((x - cx) / rx, (y - cy) / ry);
    let k0 = px.hypot(py);
    let k1 = (px / rx).hypot(py / ry);
    if k1 < 1e-6 {
        return -rx.min(ry);
    }
    k0 * (k0 - 1.0) / k1
}

/// The point (x, y) in the frame of a shape centred at (cx, cy) and turned by `angle`.
fn local(x: f32, y: f32, cx: f32, cy: f32, angle: f32) -> Point {
    let (s, c) = angle.sin_cos();
    let (dx, dy) = (x - cx, y - cy);
    (dx * c + dy * s, -dx * s + dy * c)
}

/// Where the segment's parameter lands for the point, clamped to the segment.
fn along(px: f32, py: f32, ex: f32, ey: f32) -> f32 {
    let len2 = ex * ex + ey * ey;
    if len2 < 1e-9 {
        0.0
    } else {
        clamp01((px * ex + py * ey) / len2)
    }
}

/// A capsule from `a` to `b` whose radius tapers from `ra` to `rb`.
fn capsule(x: f32, y: f32, a: Point, b: Point, ra: f32, rb: f32) -> f32 {
    let (px, py) = (x - a.0, y - a.1);
    let (ex, ey) = (b.0 - a.0, b.1 - a.1);
    let h = along(px, py, ex, ey);
    (px - ex * h).hypot(py - ey * h) - mix(ra, rb, h)
}

fn rounded_rect(x: f32, y: f32, cx: f32, cy: f32, half: Point, radius: f32) -> f32 {
    let r = radius.min(half.0).min(half.1).max(0.0);
    let qx = (x - cx).abs() - half.0 + r;
    let qy = (y - cy).abs() - half.1 + r;
    qx.max(0.0).hypot(qy.max(0.0)) + qx.max(qy).min(0.0) - r
}

/// A pointed leaf (two intersecting circles) along the local x axis, in local coordinates.
fn vesica(lx: f32, ly: f32, half_len: f32, half_width: f32) -> f32 {
    let l = half_len.max(0.01);
    let w = half_width.clamp(0.01, l);
    let r = (l * l / w + w) * 0.5;
    let d = r - w;
    let (a, b) = (lx.abs(), ly.abs());
    if (a - l) * d > b * l {
        (a - l).hypot(b)
    } else {
        (b + d).hypot(a) - r
    }
}

fn triangle(x: f32, y: f32, p0: Point, p1: Point, p2: Point) -> f32 {
    let edges = [(p0, p1), (p1, p2), (p2, p0)];
    let (e0, e2) = ((p1.0 - p0.0, p1.1 - p0.1), (p0.0 - p2.0, p0.1 - p2.1));
    let orientation = (e0.0 * e2.1 - e0.1 * e2.0).signum();
    let mut nearest = f32::MAX;
    let mut inside = f32::MAX;
    for (a, b) in edges {
        let (ex, ey) = (b.0 - a.0, b.1 - a.1);
        let (vx, vy) = (x - a.0, y - a.1);
        let h = along(vx, vy, ex, ey);
        let (qx, qy) = (vx - ex * h, vy - ey * h);
        nearest = nearest.min(qx * qx + qy * qy);
        inside = inside.min(orientation * (vx * ey - vy * ex));
    }
    -nearest.sqrt() * inside.signum()
}

/// Union of two distances with a rounded seam of size `k`.
fn smooth_union(a: f32, b: f32, k: f32) -> f32 {
    if k <= 0.0 {
        return a.min(b);
    }
    let h = clamp01(0.5 + 0.5 * (b - a) / k);
    mix(b, a, h) - k * h * (1.0 - h)
}

// ---------------------------------------------------------------------------------------------
// Canvas
// ---------------------------------------------------------------------------------------------

/// An axis-aligned box in pixel coordinates, used to limit the pixels a shape visits.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
}

impl Rect {
    fn around(cx: f32, cy: f32, rx: f32, ry: f32) -> Rect {
        Rect {
            x0: cx - rx,
            y0: cy - ry,
            x1: cx + rx,
            y1: cy + ry,
        }
    }

    fn segment(a: Point, b: Point, pad: f32) -> Rect {
        Rect {
            x0: a.0.min(b.0) - pad,
            y0: a.1.min(b.1) - pad,
            x1: a.0.max(b.0) + pad,
            y1: a.1.max(b.1) + pad,
        }
    }

    /// The box grown to contain a disc of radius `pad` around `p`.
    fn include(self, p: Point, pad: f32) -> Rect {
        Rect {
            x0: self.x0.min(p.0 - pad),
            y0: self.y0.min(p.1 - pad),
            x1: self.x1.max(p.0 + pad),
            y1: self.y1.max(p.1 + pad),
        }
    }

    fn points(points: &[Point], pad: f32) -> Rect {
        let empty = Rect {
            x0: f32::MAX,
            y0: f32::MAX,
            x1: f32::MIN,
            y1: f32::MIN,
        };
        points.iter().fold(empty, |rect, &p| rect.include(p, pad))
    }
}

/// How a shape's edge is rendered: `softness` is the width of the fade in pixels (1 for a crisp
/// anti-aliased edge, more for shadows and glows).
#[derive(Clone, Copy, Debug)]
struct Edge {
    opacity: f32,
    softness: f32,
}

impl Edge {
    const CRISP: Edge = Edge {
        opacity: 1.0,
        softness: 1.0,
    };
}

/// Pixels as floating-point sRGB while painting; rounded to 8 bits with a little dithering at
/// the end so gradients do not band.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<Colour>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        let (width, height) = (width as usize, height as usize);
        Canvas {
            width,
            height,
            pixels: vec![WHITE; width.saturating_mul(height)],
        }
    }

    fn w(&self) -> f32 {
        self.width as f32
    }

    fn h(&self) -> f32 {
        self.height as f32
    }

    /// The shorter side (at least one pixel): the unit for sizes, so shapes keep their
    /// proportions whatever the aspect ratio.
    fn s(&self) -> f32 {
        self.w().min(self.h()).max(1.0)
    }

    fn bounds(&self) -> Rect {
        Rect {
            x0: 0.0,
            y0: 0.0,
            x1: self.w(),
            y1: self.h(),
        }
    }

    /// Mixes `colour` into one pixel with the given alpha; pixels outside the canvas are ignored.
    fn blend(&mut self, x: usize, y: usize, colour: Colour, alpha: f32) {
        if x >= self.width || alpha <= 0.0 {
            return;
        }
        if let Some(pixel) = self.pixels.get_mut(y * self.width + x) {
            *pixel = pixel.mix(colour, alpha.min(1.0));
        }
    }

    /// The pixel range of a box, clamped to the canvas.
    fn span(&self, area: Rect, pad: f32) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let clamp = |v: f32, limit: usize| (v.max(0.0) as usize).min(limit);
        let (x0, x1) = (
            clamp((area.x0 - pad).floor(), self.width),
            clamp((area.x1 + pad).ceil(), self.width),
        );
        let (y0, y1) = (
            clamp((area.y0 - pad).floor(), self.height),
            clamp((area.y1 + pad).ceil(), self.height),
        );
        (x0..x1.max(x0), y0..y1.max(y0))
    }

    /// Sets every pixel from a function of the pixel centre.
    fn fill(&mut self, colour_at: impl Fn(f32, f32) -> Colour) {
        self.layer(self.bounds(), |x, y, _| colour_at(x, y));
    }

    /// Replaces each pixel in `area` by a function of its centre and its current colour.
    fn layer(&mut self, area: Rect, f: impl Fn(f32, f32, Colour) -> Colour) {
        let (xs, ys) = self.span(area, 0.0);
        for y in ys {
            let row = y * self.width;
            for x in xs.clone() {
                if let Some(pixel) = self.pixels.get_mut(row + x) {
                    *pixel = f(x as f32 + 0.5, y as f32 + 0.5, *pixel);
                }
            }
        }
    }

    /// Paints a shape given by a signed distance function. `paint` receives the pixel centre and
    /// the distance, so shapes can shade themselves; coverage comes from the distance, which
    /// anti-aliases the edge.
    fn draw(
        &mut self,
        area: Rect,
        edge: Edge,
        sdf: impl Fn(f32, f32) -> f32,
        paint: impl Fn(f32, f32, f32) -> Colour,
    ) {
        let half = edge.softness.max(1.0) * 0.5;
        let (xs, ys) = self.span(area, half + 1.0);
        for y in ys {
            let py = y as f32 + 0.5;
            for x in xs.clone() {
                let px = x as f32 + 0.5;
                let d = sdf(px, py);
                if d >= half {
                    continue;
                }
                let alpha = smoothstep(half, -half, d) * edge.opacity;
                self.blend(x, y, paint(px, py, d), alpha);
            }
        }
    }

    fn solid(&mut self, area: Rect, colour: Colour, sdf: impl Fn(f32, f32) -> f32) {
        self.draw(area, Edge::CRISP, sdf, |_, _, _| colour);
    }

    /// A blurred, translucent shape: shadows, glows, bokeh.
    fn soft(&mut self, area: Rect, colour: Colour, edge: Edge, sdf: impl Fn(f32, f32) -> f32) {
        self.draw(area, edge, sdf, |_, _, _| colour);
    }

    fn into_image(self, seed: u32) -> RgbImage {
        let (w, h) = (self.width as u32, self.height as u32);
        let to_byte = |v: f32, dither: f32| (v * 255.0 + dither).round().clamp(0.0, 255.0) as u8;
        RgbImage::from_fn(w, h, |x, y| {
            let index = y as usize * self.width + x as usize;
            let c = self.pixels.get(index).copied().unwrap_or(WHITE);
            let dither = hash2(x as i32, y as i32, seed) - 0.5;
            Rgb([
                to_byte(c.r, dither),
                to_byte(c.g, dither),
                to_byte(c.b, dither),
            ])
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Shared elements
// ---------------------------------------------------------------------------------------------

/// A horizon line: a few sines with random phases.
struct Ridge {
    base: f32,
    amp: f32,
    tilt: f32,
    inv_width: f32,
    phases: [f32; 3],
}

impl Ridge {
    fn new(rng: &mut Rng, base: f32, amp: f32, width: f32) -> Ridge {
        Ridge {
            base,
            amp,
            tilt: rng.range(-0.6, 0.6) * amp,
            inv_width: 1.0 / width.max(1.0),
            phases: [
                rng.range(0.0, TAU),
                rng.range(0.0, TAU),
                rng.range(0.0, TAU),
            ],
        }
    }

    fn at(&self, x: f32) -> f32 {
        let u = x * self.inv_width;
        let wave = 0.55 * (u * TAU * 0.9 + self.phases[0]).sin()
            + 0.3 * (u * TAU * 2.3 + self.phases[1]).sin()
            + 0.15 * (u * TAU * 5.7 + self.phases[2]).sin();
        self.base + self.amp * wave + self.tilt * (u - 0.5)
    }

    /// The highest (smallest y) the ridge can reach.
    fn top(&self) -> f32 {
        self.base - self.amp - self.tilt.abs()
    }
}

/// Fills everything below a ridge with a colour (anti-aliased along the ridge).
fn fill_below(c: &mut Canvas, ridge: &Ridge, colour_at: impl Fn(f32, f32) -> Colour) {
    let area = Rect {
        y0: ridge.top() - 1.0,
        ..c.bounds()
    };
    c.layer(area, |x, y, under| {
        let cover = clamp01(y - ridge.at(x) + 0.5);
        if cover <= 0.0 {
            under
        } else {
            under.mix(colour_at(x, y), cover)
        }
    });
}

/// A sky that fades from `top` to `horizon_colour` at `horizon`.
fn sky(c: &mut Canvas, top: Colour, horizon_colour: Colour, horizon: f32) {
    c.fill(|_, y| top.mix(horizon_colour, smoothstep(0.0, horizon, y).powf(0.8)));
}

fn sun(c: &mut Canvas, x: f32, y: f32, r: f32, colour: Colour) {
    let glow = Edge {
        opacity: 0.45,
        softness: r * 8.0,
    };
    c.soft(
        Rect::around(x, y, r * 6.0, r * 6.0),
        colour,
        glow,
        |px, py| circle(px, py, x, y, r),
    );
    c.solid(
        Rect::around(x, y, r, r),
        colour.mix(WHITE, 0.6),
        |px, py| circle(px, py, x, y, r),
    );
}

/// A soft elliptical shadow on the ground.
fn ground_shadow(c: &mut Canvas, cx: f32, cy: f32, rx: f32, ry: f32, opacity: f32) {
    let edge = Edge {
        opacity,
        softness: ry * 1.2 + 1.0,
    };
    c.soft(
        Rect::around(cx, cy, rx + ry, ry * 2.0),
        hex(0x2b2418),
        edge,
        |x, y| ellipse(x, y, cx, cy, rx, ry),
    );
}

/// The most points a stroke is sampled at.
const MAX_STROKE_STEPS: usize = 48;

/// A tapered, shaded stroke along a curve: the union of a chain of capsules, drawn as one shape
/// so the joints do not show.
fn stroke(
    c: &mut Canvas,
    curve: impl Fn(f32) -> Point,
    steps: usize,
    radii: (f32, f32),
    colours: (Colour, Colour),
) {
    let steps = steps.clamp(1, MAX_STROKE_STEPS);
    let mut knots = [(0.0_f32, 0.0_f32, 0.0_f32); MAX_STROKE_STEPS + 1];
    for (i, knot) in knots.iter_mut().take(steps + 1).enumerate() {
        let t = i as f32 / steps as f32;
        let (x, y) = curve(t);
        *knot = (x, y, mix(radii.0, radii.1, t).max(0.3));
    }
    let knots = &knots[..=steps];
    let widest = radii.0.max(radii.1).max(0.3);
    let mut area = Rect::segment((knots[0].0, knots[0].1), (knots[0].0, knots[0].1), widest);
    for &(x, y, _) in knots {
        area = area.include((x, y), widest);
    }
    let (light, dark) = colours;
    c.draw(
        area,
        Edge::CRISP,
        |x, y| nearest_on_chain(x, y, knots).0,
        |x, y, d| {
            let r = nearest_on_chain(x, y, knots).1;
            light.mix(dark, clamp01(1.0 + d / r).powi(2))
        },
    );
}

/// Distance to a chain of tapered capsules, and the radius of the nearest one there.
fn nearest_on_chain(x: f32, y: f32, knots: &[(f32, f32, f32)]) -> (f32, f32) {
    let mut best = (f32::MAX, 1.0);
    for pair in knots.windows(2) {
        let ((ax, ay, ra), (bx, by, rb)) = (pair[0], pair[1]);
        let reach = ra.max(rb) + 2.0;
        // Cheap rejection before the exact distance.
        if x < ax.min(bx) - reach
            || x > ax.max(bx) + reach
            || y < ay.min(by) - reach
            || y > ay.max(by) + reach
        {
            continue;
        }
        let d = capsule(x, y, (ax, ay), (bx, by), ra, rb);
        if d < best.0 {
            let h = along(x - ax, y - ay, bx - ax, by - ay);
            best = (d, mix(ra, rb, h).max(0.3));
        }
    }
    best
}

/// A pointed leaf with a lighter midrib and a darker half.
fn leaf(c: &mut Canvas, centre: Point, angle: f32, half_len: f32, half_width: f32, base: Colour) {
    let (cx, cy) = centre;
    let reach = half_len.max(half_width) + 1.0;
    let vein = base.mix(hex(0xe8f0c0), 0.35);
    let shadow = base.scale(0.82);
    c.draw(
        Rect::around(cx, cy, reach, reach),
        Edge::CRISP,
        |x, y| {
            let (lx, ly) = local(x, y, cx, cy, angle);
            vesica(lx, ly, half_len, half_width)
        },
        |x, y, _| {
            let (lx, ly) = local(x, y, cx, cy, angle);
            let tip = clamp01(lx / half_len.max(0.01) * 0.5 + 0.5);
            let body = if ly > 0.0 { shadow } else { base };
            let body = body.mix(body.scale(1.15), tip * 0.6);
            let rib = half_width * 0.07 + 0.4;
            body.mix(vein, clamp01(rib - ly.abs() + 0.5) * (1.0 - tip * 0.7))
        },
    );
}

/// A round fruit (or egg) shading: dark at the lower right, highlight at the upper left.
fn shaded_ball(base: Colour, dx: f32, dy: f32, r: f32) -> Colour {
    let r = r.max(0.01);
    let (nx, ny) = (dx / r, dy / r);
    let light = clamp01(0.55 - 0.45 * (nx * 0.6 + ny * 0.8));
    let dark = base.scale(0.72);
    let lit = base.mix(WHITE, 0.18);
    let body = dark.mix(lit, light);
    let spot = clamp01(1.0 - ((nx + 0.38).hypot(ny + 0.42) / 0.28));
    body.mix(WHITE, spot * spot * 0.55)
}

// ---------------------------------------------------------------------------------------------
// Tea: terraced hills with rows of bushes under a misty sky
// ---------------------------------------------------------------------------------------------

struct TeaHill {
    ridge: Ridge,
    /// Height of a row of bushes at the ridge, in pixels.
    spacing: f32,
    light: Colour,
    dark: Colour,
    gap: Colour,
    haze: f32,
}

fn paint_tea(c: &mut Canvas, rng: &mut Rng) {
    let (w, h, s) = (c.w(), c.h(), c.s());
    let mist = hex(0xedf0e6);
    sky(c, hex(0x8dbdd2).vary(rng, 0.04), mist, h * 0.55);
    sun(
        c,
        w * rng.range(0.15, 0.85),
        h * rng.range(0.1, 0.2),
        s * 0.035,
        hex(0xfff4d6),
    );

    // Far mountains, fading into the haze.
    for (i, tone) in [hex(0xa9c0bd), hex(0x8fae9f)].into_iter().enumerate() {
        let ridge = Ridge::new(rng, h * (0.3 + 0.07 * i as f32), h * 0.07, w);
        let tone = tone.vary(rng, 0.03);
        fill_below(c, &ridge, |_, y| {
            tone.mix(mist, smoothstep(0.3 * h, 0.65 * h, y) * 0.6)
        });
    }

    let hills = 3;
    for i in 0..hills {
        let k = i as f32 / (hills - 1) as f32;
        let base = h * (0.5 + 0.15 * i as f32 + rng.range(-0.03, 0.03));
        let hill = TeaHill {
            ridge: Ridge::new(rng, base, h * (0.05 + 0.03 * k), w),
            spacing: s * (0.018 + 0.035 * k) * rng.range(0.9, 1.15),
            light: hex(0xa8cc62).vary(rng, 0.04),
            dark: hex(0x4f8a3f).vary(rng, 0.04),
            gap: hex(0x2f4d33),
            haze: 0.35 * (1.0 - k),
        };
        terraced_hill(c, &hill, mist, i as u32);
        if i == 0 {
            trees_on_ridge(c, rng, &hill.ridge, mist, hill.haze);
        }
        // A band of mist resting in the valley in front of this hill.
        if i + 1 < hills {
            let next_base = h * (0.5 + 0.15 * (i + 1) as f32);
            let depth = h * 0.1;
            let seed = rng.between(0, 1 << 20);
            c.layer(
                Rect::around(w * 0.5, next_base, w, depth * 2.0),
                |x, y, under| {
                    let band = smoothstep(next_base - depth * 1.6, next_base, y)
                        * smoothstep(next_base + depth * 1.2, next_base, y);
                    let wisp = fbm(x / (s * 0.25), y / (s * 0.06), seed);
                    under.mix(mist, band * (0.2 + 0.4 * wisp))
                },
            );
        }
    }
}

/// One hill covered in contour rows of tea bushes: rounded tops catching the light, dark gaps
/// between the rows, rows widening towards the viewer.
fn terraced_hill(c: &mut Canvas, hill: &TeaHill, mist: Colour, seed: u32) {
    let h = c.h();
    let ridge = &hill.ridge;
    let area = Rect {
        y0: ridge.top() - hill.spacing,
        ..c.bounds()
    };
    let spacing = hill.spacing.max(1.5);
    let grow = h * 0.9;
    c.layer(area, |x, y, under| {
        let t = y - ridge.at(x);
        if t < 0.0 {
            return under;
        }
        // Rows get taller further down the slope (closer to the viewer).
        let r = t / (spacing * (1.0 + t / grow));
        let row = r.floor();
        let local_height = spacing * (1.0 + t / grow).powi(2);
        let v = (r - row) * local_height;
        let q = x / (local_height * 2.6) + row * 0.61;
        let bump = 1.0 - (q * PI).sin().abs();
        let top = local_height * (0.06 + 0.22 * bump * bump);
        let bottom = local_height * 0.84;
        let bush = clamp01(v - top + 0.5) * clamp01(bottom - v + 0.5);
        let depth = clamp01((v - top) / (bottom - top).max(0.5));
        let speckle = noise(x / 2.5, y / 2.5, seed) - 0.5;
        let leaves = hill
            .light
            .mix(hill.dark, depth.powf(0.7))
            .scale(1.0 + speckle * 0.12);
        let colour = hill.gap.mix(leaves, bush).mix(mist, hill.haze);
        let cover = if row < 1.0 {
            clamp01(v - top + 0.5)
        } else {
            1.0
        };
        under.mix(colour, cover)
    });
}

fn trees_on_ridge(c: &mut Canvas, rng: &mut Rng, ridge: &Ridge, mist: Colour, haze: f32) {
    let (w, s) = (c.w(), c.s());
    let count = rng.between(2, 4);
    let start = rng.range(0.05, 0.7);
    for i in 0..count {
        let x = w * (start + 0.06 * i as f32 + rng.range(0.0, 0.04));
        let ground = ridge.at(x) + s * 0.01;
        let size = s * rng.range(0.025, 0.04);
        let trunk = hex(0x5b4a3a).mix(mist, haze);
        let crown = hex(0x3f6b45).vary(rng, 0.05).mix(mist, haze);
        stroke(
            c,
            |t| (x, ground - t * size * 1.6),
            1,
            (size * 0.12, size * 0.08),
            (trunk, trunk),
        );
        for (ox, oy, k) in [(-0.45, -1.5, 0.7), (0.45, -1.6, 0.7), (0.0, -2.2, 0.85)] {
            let (cx, cy, r) = (x + ox * size, ground + oy * size, size * k);
            c.draw(
                Rect::around(cx, cy, r, r),
                Edge::CRISP,
                |px, py| circle(px, py, cx, cy, r),
                |px, py, _| crown.scale(1.0 - 0.15 * clamp01((py - cy + (px - cx) * 0.5) / r)),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Vegetables: a field of cabbages in rows running to the horizon
// ---------------------------------------------------------------------------------------------

struct CabbageStyle {
    outer: Colour,
    inner: Colour,
    vein: Colour,
}

fn paint_vegetables(c: &mut Canvas, rng: &mut Rng, variant: u32) {
    let (w, h, s) = (c.w(), c.h(), c.s());
    let horizon = h * rng.range(0.28, 0.36);
    let haze = hex(0xe9efe0);
    sky(c, hex(0x9cc8de).vary(rng, 0.04), haze, horizon);
    sun(
        c,
        w * rng.range(0.1, 0.9),
        horizon * rng.range(0.25, 0.5),
        s * 0.03,
        hex(0xfff3d0),
    );

    // Hills and a tree line on the horizon.
    let hills = Ridge::new(rng, horizon - h * 0.05, h * 0.035, w);
    fill_below(c, &hills, |_, _| hex(0x9bb59a).mix(haze, 0.3));
    let trees_seed = rng.between(0, 1 << 20);
    let tree_line = horizon - s * 0.012;
    c.layer(
        Rect::around(w * 0.5, horizon, w, s * 0.06),
        |x, y, under| {
            let bumps = fbm(x / (s * 0.04), 0.5, trees_seed);
            let top = tree_line - s * 0.035 * bumps;
            let cover = clamp01(y - top + 0.5);
            under.mix(hex(0x4d7650).mix(haze, 0.25), cover)
        },
    );

    // Every third listing grows red cabbage.
    let style = if variant % 3 == 2 {
        CabbageStyle {
            outer: hex(0x5a7c78),
            inner: hex(0x8a5a8f),
            vein: hex(0xd9c2e0),
        }
    } else {
        CabbageStyle {
            outer: hex(0x4f8a4a).vary(rng, 0.05),
            inner: hex(0xb6d67a).vary(rng, 0.05),
            vein: hex(0xe6f2c2),
        }
    };

    // Cabbages stand at equal spacing on the ground; projected, far ones are small and close
    // together. Rows run towards a vanishing point on the horizon.
    let vanish_x = w * rng.range(0.3, 0.7);
    let depth_span = (h - horizon).max(1.0);
    let row_spread = s * 0.3 / depth_span;
    let focal = depth_span * 1.05;
    let nearest_drawn = 0.75;
    let farthest_drawn = 12.0;
    let plant_size = s * 0.12;
    let drawn_from = horizon + focal / farthest_drawn;

    // Soil with furrows, and beyond the drawn plants, rows of crop seen as green stripes.
    let soil_near = hex(0x7a5437).vary(rng, 0.04);
    let soil_far = hex(0xa38b6a);
    let crop = style.outer.mix(style.inner, 0.3);
    let soil_seed = rng.between(0, 1 << 20);
    c.layer(
        Rect {
            y0: horizon,
            ..c.bounds()
        },
        |x, y, under| {
            let dy = (y - horizon).max(0.01);
            let depth = clamp01(dy / depth_span);
            let lane_px = dy * row_spread;
            let lane = (x - vanish_x) / lane_px;
            let from_row = (lane - lane.round()).abs();
            // Fade the stripes out where they would be finer than a few pixels.
            let contrast = smoothstep(2.0, 8.0, lane_px);
            let grain = fbm(x / (s * 0.01), y / (s * 0.01), soil_seed) - 0.5;
            let base = soil_far.mix(soil_near, depth.powf(0.6));
            let mut colour = base.scale(1.0 + (0.35 * from_row - 0.08) * contrast + grain * 0.12);
            if y < drawn_from + plant_size / farthest_drawn {
                let half_row = 0.38;
                let crisp = clamp01((half_row - from_row) * lane_px + 0.5);
                let cover = mix(half_row * 2.0, crisp, smoothstep(1.5, 4.0, lane_px));
                let leafy = noise(x / lane_px.max(1.0) * 3.0, dy * 0.8, soil_seed) - 0.5;
                let green = crop
                    .scale(1.0 + leafy * 0.2)
                    .mix(haze, (1.0 - depth * 8.0).max(0.0) * 0.25);
                colour = colour.mix(green, cover);
            }
            let far = (1.0 - depth * 6.0).max(0.0) * 0.2;
            under.mix(colour.mix(haze, far), clamp01(y - horizon + 0.5))
        },
    );

    let mut z: f32 = farthest_drawn;
    while z >= nearest_drawn {
        let y = horizon + focal / z;
        let r = plant_size / z;
        let lane_px = (y - horizon) * row_spread;
        if r >= 0.8 && y < h + r * 2.0 && lane_px > 0.0 {
            let lanes = ((vanish_x.max(w - vanish_x) + r * 2.0) / lane_px)
                .ceil()
                .min(200.0) as i32;
            for lane in -lanes..=lanes {
                let x = vanish_x + lane as f32 * lane_px;
                if x < -r * 2.0 || x > w + r * 2.0 {
                    continue;
                }
                let jitter = (rng.range(-0.08, 0.08) * r, rng.range(-0.05, 0.05) * r);
                cabbage(c, rng, (x + jitter.0, y + jitter.1), r, &style);
            }
        }
        z -= 0.42 * z.min(3.0) / 3.0;
    }
}

/// A cabbage seen from a little above: outer leaves spread around a pale round head.
fn cabbage(c: &mut Canvas, rng: &mut Rng, centre: Point, r: f32, style: &CabbageStyle) {
    let (cx, cy) = centre;
    let squash = 0.72;
    ground_shadow(c, cx, cy + r * 0.35, r * 1.1, r * 0.35, 0.35);
    let leaves = 7;
    let turn = rng.range(0.0, TAU);
    let outer = style.outer.vary(rng, 0.04);
    let draw_leaves = |c: &mut Canvas, front: bool| {
        for i in 0..leaves {
            let a = turn + TAU * i as f32 / leaves as f32;
            if (a.sin() > 0.2) != front {
                continue;
            }
            let (lx, ly) = (cx + a.cos() * r * 0.55, cy + a.sin() * r * 0.55 * squash);
            let angle = (a.sin() * squash).atan2(a.cos());
            let tone = if front { outer.scale(1.1) } else { outer };
            leaf(c, (lx, ly), angle, r * 0.52, r * 0.36, tone);
        }
    };
    draw_leaves(c, false);
    // The head, with the edges of its wrapping leaves.
    let (hx, hy, hr) = (cx, cy - r * 0.12, r * 0.5);
    let (inner, vein) = (style.inner, style.vein);
    let line_width = (0.5 / hr.max(0.5)).max(0.04);
    c.draw(
        Rect::around(hx, hy, hr, hr),
        Edge::CRISP,
        |x, y| ellipse(x, y, hx, hy, hr, hr * 0.9),
        |x, y, _| {
            let body = shaded_ball(inner, x - hx, y - hy, hr);
            let (u, v) = ((x - hx) / hr, (y - hy) / hr);
            let left = ((u + 0.9).hypot(v - 0.9) - 1.4).abs();
            let right = ((u - 0.8).hypot(v - 1.0) - 1.15).abs();
            let line = smoothstep(line_width, 0.0, left.min(right)) * 0.6;
            body.mix(vein, line)
        },
    );
    draw_leaves(c, true);
}

// ---------------------------------------------------------------------------------------------
// Fruit: oranges, pomelos or loquats on a leafy branch
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum FruitKind {
    Mandarin,
    Pomelo,
    Loquat,
}

fn paint_fruit(c: &mut Canvas, rng: &mut Rng, variant: u32) {
    let (w, h, s) = (c.w(), c.h(), c.s());
    let kind = match variant % 3 {
        0 => FruitKind::Mandarin,
        1 => FruitKind::Pomelo,
        _ => FruitKind::Loquat,
    };
    let top = hex(0xcfe5ee).vary(rng, 0.03);
    let bottom = hex(0xe3ecc8).vary(rng, 0.03);
    c.fill(|_, y| top.mix(bottom, y / h.max(1.0)));

    // Out-of-focus foliage and light in the background.
    for _ in 0..16 {
        let (x, y, r) = (w * rng.unit(), h * rng.unit(), s * rng.range(0.05, 0.16));
        let (colour, opacity) = if rng.chance(0.5) {
            (hex(0x7fa86a), 0.25)
        } else {
            (hex(0xfffbe8), 0.35)
        };
        let edge = Edge {
            opacity,
            softness: r * 0.8,
        };
        c.soft(
            Rect::around(x, y, r * 1.5, r * 1.5),
            colour,
            edge,
            |px, py| circle(px, py, x, y, r),
        );
    }

    // The branch: a quadratic curve across the upper part, sloping one way or the other.
    let (high, low) = (h * rng.range(0.08, 0.2), h * rng.range(0.25, 0.38));
    let (left_y, right_y) = if rng.chance(0.5) {
        (high, low)
    } else {
        (low, high)
    };
    let p0 = (-0.05 * w, left_y);
    let p1 = (w * rng.range(0.35, 0.65), h * rng.range(0.0, 0.15));
    let p2 = (1.05 * w, right_y);
    let bark = (hex(0x8a6a4d), hex(0x4e3a2a));
    let leaf_green = hex(0x3f7a3a).vary(rng, 0.05);
    let branch_at = |t: f32| bezier(p0, p1, p2, t);

    let leaf_count = rng.between(14, 20);
    let mut leaves: Vec<(Point, f32, f32)> = Vec::new();
    for _ in 0..leaf_count {
        let t = rng.unit();
        let base = branch_at(t);
        let ahead = branch_at((t + 0.01).min(1.0));
        let heading = (ahead.1 - base.1).atan2(ahead.0 - base.0 + 1e-3);
        let angle = heading + rng.sign() * rng.range(0.5, 1.3);
        let len = s * rng.range(0.08, 0.11);
        let centre = (base.0 + angle.cos() * len, base.1 + angle.sin() * len);
        leaves.push((centre, angle, len));
    }
    let (back, front) = leaves.split_at(leaves.len() / 2);
    for &(centre, angle, len) in back {
        leaf(c, centre, angle, len, len * 0.36, leaf_green.scale(0.85));
    }
    stroke(c, branch_at, 32, (s * 0.032, s * 0.015), bark);

    let (colour, radius, stretch) = match kind {
        FruitKind::Mandarin => (hex(0xf08a1c), s * 0.11, 0.92),
        FruitKind::Pomelo => (hex(0xe3d45a), s * 0.17, 1.05),
        FruitKind::Loquat => (hex(0xf4a93a), s * 0.068, 1.12),
    };
    let clusters = match kind {
        FruitKind::Pomelo => 2,
        _ => rng.between(2, 3),
    };
    for k in 0..clusters {
        let t = (k as f32 + rng.range(0.35, 0.65)) / clusters as f32;
        let start = branch_at(t);
        let drop = radius * rng.range(0.6, 1.2);
        let end = (start.0 + rng.range(-0.3, 0.3) * radius, start.1 + drop);
        stroke(
            c,
            |u| bezier(start, (start.0, end.1), end, u),
            8,
            (s * 0.009, s * 0.006),
            bark,
        );
        let count = match kind {
            FruitKind::Pomelo => 1,
            FruitKind::Mandarin => rng.between(2, 3),
            FruitKind::Loquat => rng.between(4, 6),
        };
        let mut spots: Vec<Point> = Vec::new();
        for i in 0..count {
            let spread = radius * 1.45;
            let offset = if i == 0 {
                (0.0, radius * stretch)
            } else {
                let a = rng.range(0.35, PI - 0.35);
                (a.cos() * spread, radius + a.sin() * spread * 0.75)
            };
            spots.push((end.0 + offset.0, end.1 + offset.1));
        }
        // Stems first, then fruit from the back (top) to the front (bottom).
        spots.sort_by(|a, b| a.1.total_cmp(&b.1));
        for &spot in &spots {
            let stem_to = (spot.0, spot.1 - radius * stretch * 0.9);
            stroke(
                c,
                |u| bezier(end, (end.0, stem_to.1), stem_to, u),
                6,
                (s * 0.004, s * 0.003),
                bark,
            );
        }
        for &spot in &spots {
            let r = radius * rng.range(0.92, 1.06);
            fruit(c, kind, spot, r, stretch, colour.vary(rng, 0.04));
        }
    }
    for &(centre, angle, len) in front {
        leaf(c, centre, angle, len, len * 0.36, leaf_green);
    }
}

fn fruit(c: &mut Canvas, kind: FruitKind, centre: Point, r: f32, stretch: f32, colour: Colour) {
    let (cx, cy) = centre;
    let ry = r * stretch;
    let seed = (cx as u32).wrapping_mul(31).wrapping_add(cy as u32);
    c.draw(
        Rect::around(cx, cy, r * 1.1, ry * 1.1),
        Edge::CRISP,
        |x, y| match kind {
            // A pomelo is a little pear-shaped: a ball with a smaller one on top.
            FruitKind::Pomelo => smooth_union(
                ellipse(x, y, cx, cy + ry * 0.08, r, ry * 0.9),
                circle(x, y, cx, cy - ry * 0.45, r * 0.55),
                r * 0.35,
            ),
            _ => ellipse(x, y, cx, cy, r, ry),
        },
        |x, y, _| {
            let pores = noise(x / 1.8, y / 1.8, seed) - 0.5;
            shaded_ball(colour, x - cx, y - cy, r).scale(1.0 + pores * 0.06)
        },
    );
    // Calyx: a green star on top, or the dried brown tip at the bottom of a loquat.
    let (kx, ky, tone) = match kind {
        FruitKind::Loquat => (cx + r * 0.1, cy + ry * 0.88, hex(0x5a4030)),
        _ => (cx, cy - ry * 0.92, hex(0x4d6b2e)),
    };
    let arm = r * 0.11;
    c.solid(Rect::around(kx, ky, arm, arm), tone.scale(0.8), |x, y| {
        ellipse(x, y, kx, ky, arm * 0.45, arm * 0.3)
    });
    for i in 0..5 {
        let a = TAU * i as f32 / 5.0 - PI / 2.0;
        let (px, py) = (kx + a.cos() * arm * 0.6, ky + a.sin() * arm * 0.35);
        c.draw(
            Rect::around(px, py, arm, arm),
            Edge::CRISP,
            |x, y| {
                let (lx, ly) = local(x, y, px, py, a);
                vesica(lx, ly * 1.6, arm * 0.6, arm * 0.22)
            },
            |_, _, _| tone,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Grain and oil: a golden rice field with ripe, drooping stalks in front
// ---------------------------------------------------------------------------------------------

fn paint_grain(c: &mut Canvas, rng: &mut Rng) {
    let (w, h, s) = (c.w(), c.h(), c.s());
    let horizon = h * rng.range(0.36, 0.46);
    let glow = hex(0xf8e3b4);
    sky(c, hex(0x94c2dc).vary(rng, 0.04), glow, horizon);
    sun(
        c,
        w * rng.range(0.15, 0.85),
        horizon * rng.range(0.35, 0.65),
        s * 0.04,
        hex(0xffe9b0),
    );
    let hills = Ridge::new(rng, horizon - h * 0.04, h * 0.04, w);
    fill_below(c, &hills, |_, _| hex(0xa3b6a4).mix(glow, 0.35));
    let near_hills = Ridge::new(rng, horizon - h * 0.01, h * 0.015, w);
    fill_below(c, &near_hills, |_, _| hex(0x7f9a6a).mix(glow, 0.2));

    // The field: rows that get wider towards the viewer, with a little texture of grain heads.
    let gold_far = hex(0xd9b860);
    let gold_near = hex(0xd69a2e).vary(rng, 0.04);
    let seed = rng.between(0, 1 << 20);
    let field_top = horizon + h * 0.005;
    c.layer(
        Rect {
            y0: field_top,
            ..c.bounds()
        },
        |x, y, under| {
            let dy = (y - field_top).max(0.5);
            let depth = clamp01(dy / (h - field_top).max(1.0));
            let rows = (s * 2.0 / dy).ln() * 9.0;
            let stripe = 0.5 + 0.5 * (rows * TAU).sin();
            let heads = fbm(
                x / (s * 0.006 + dy * 0.04),
                y / (s * 0.004 + dy * 0.02),
                seed,
            );
            let base = gold_far.mix(gold_near, depth.powf(0.7));
            let colour = base.scale(0.9 + 0.08 * stripe * (1.0 - depth) + 0.18 * (heads - 0.5));
            under.mix(colour, clamp01(y - field_top + 0.5))
        },
    );

    // Stalks from the middle distance to the foreground, back to front.
    let count = rng.between(50, 70);
    let mut stalks: Vec<(f32, f32)> = (0..count).map(|_| (rng.unit(), rng.unit())).collect();
    stalks.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (u, depth) in stalks {
        let depth = depth.powf(0.6);
        let scale = mix(0.25, 1.1, depth);
        let base = (
            w * mix(-0.05, 1.05, u),
            mix(field_top + h * 0.25, h * 1.05, depth),
        );
        rice_stalk(c, rng, base, scale);
    }
}

/// One ripe rice plant: a straw stalk, a leaf blade or two and a heavy panicle that nods over.
fn rice_stalk(c: &mut Canvas, rng: &mut Rng, base: Point, scale: f32) {
    let (h, s) = (c.h(), c.s());
    let height = h * rng.range(0.4, 0.55) * scale;
    let lean = rng.range(-0.1, 0.1) * height;
    let top = (base.0 + lean, base.1 - height);
    let mid = (base.0 + lean * 0.2, base.1 - height * 0.6);
    let straw_light = hex(0xd6b85e).mix(hex(0xb9a64e), rng.unit() * 0.5);
    stroke(
        c,
        |t| bezier(base, mid, top, t),
        10,
        (s * 0.006 * scale, s * 0.003 * scale),
        (straw_light, straw_light.scale(0.72)),
    );
    for _ in 0..rng.between(1, 2) {
        let from = bezier(base, mid, top, rng.range(0.15, 0.4));
        let side = rng.sign();
        let reach = height * rng.range(0.3, 0.45);
        let tip = (from.0 + side * reach * 0.75, from.1 - reach * 0.45);
        let bend = (from.0 + side * reach * 0.35, from.1 - reach * 0.75);
        let blade = hex(0xc2b25a).mix(hex(0x9aa04a), rng.unit());
        stroke(
            c,
            |t| bezier(from, bend, tip, t),
            10,
            (s * 0.008 * scale, s * 0.0008),
            (blade, blade.scale(0.75)),
        );
    }
    // The panicle: a drooping curve with grains hanging from both sides.
    let side = if lean >= 0.0 { 1.0 } else { -1.0 };
    let droop = height * rng.range(0.28, 0.38);
    let arc_mid = (top.0 + side * droop * 0.45, top.1 - droop * 0.2);
    let arc_end = (top.0 + side * droop * 0.55, top.1 + droop * 0.75);
    let panicle = |t: f32| bezier(top, arc_mid, arc_end, t);
    stroke(
        c,
        panicle,
        10,
        (s * 0.003 * scale, s * 0.0015 * scale),
        (hex(0xb89a45), hex(0x8a6f30)),
    );
    let grain_colour = hex(0xeabd45).mix(hex(0xd69a2a), rng.unit());
    let grains = if scale > 0.5 { 18 } else { 11 };
    for g in 0..grains {
        let t = (g as f32 + 0.7) / grains as f32;
        let p = panicle(t);
        let q = panicle((t + 0.02).min(1.0));
        let heading = (q.1 - p.1).atan2(q.0 - p.0 + 1e-4);
        let size = s * 0.022 * scale * (1.0 - 0.35 * t);
        for flank in [-1.0, 1.0] {
            let angle = heading + flank * 0.4;
            let centre = (
                p.0 + angle.cos() * size * 0.55,
                p.1 + angle.sin() * size * 0.55,
            );
            grain(c, centre, angle, size, grain_colour.vary(rng, 0.04));
        }
    }
}

fn grain(c: &mut Canvas, centre: Point, angle: f32, size: f32, colour: Colour) {
    let (cx, cy) = centre;
    c.draw(
        Rect::around(cx, cy, size, size),
        Edge::CRISP,
        |x, y| {
            let (lx, ly) = local(x, y, cx, cy, angle);
            ellipse(lx, ly, 0.0, 0.0, size * 0.62, size * 0.28)
        },
        |x, y, _| {
            let (_, ly) = local(x, y, cx, cy, angle);
            colour.scale(1.06 - 0.28 * clamp01(ly / (size * 0.28) * 0.5 + 0.5))
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Aquatic: fish over a sandy bottom with seaweed, shells and bubbles
// ---------------------------------------------------------------------------------------------

struct FishStyle {
    back: Colour,
    belly: Colour,
    fin: Colour,
}

fn paint_aquatic(c: &mut Canvas, rng: &mut Rng, variant: u32) {
    let (w, h, s) = (c.w(), c.h(), c.s());
    let shallow = hex(0x9ad8d6).vary(rng, 0.03);
    let deep = hex(0x2a6f8c).vary(rng, 0.03);
    c.fill(|_, y| shallow.mix(deep, (y / h.max(1.0)).powf(0.9)));

    // Slanted beams of light from the surface.
    let beam_seed = rng.range(0.0, TAU);
    let beam_width = s * rng.range(0.09, 0.14);
    c.layer(c.bounds(), |x, y, under| {
        let u = (x + y * 0.35) / beam_width + beam_seed;
        let beam = (0.5 + 0.5 * u.sin() * (u * 0.37 + 1.0).sin()).powi(6);
        let fade = (1.0 - y / h.max(1.0)).powf(1.5);
        under.mix(WHITE, beam * fade * 0.22)
    });

    // The sandy bottom with ripples.
    let sand_base = h * rng.range(0.8, 0.86);
    let sand = Ridge::new(rng, sand_base, h * 0.03, w);
    let sand_seed = rng.between(0, 1 << 20);
    fill_below(c, &sand, |x, y| {
        let ripple = (x / (s * 0.03) + 2.0 * (y / (s * 0.05)).sin()).sin();
        let grain = noise(x / 2.0, y / 2.0, sand_seed) - 0.5;
        hex(0xe2cf9c)
            .mix(hex(0xbfa577), clamp01((y - sand.at(x)) / (h * 0.2)))
            .scale(0.96 + 0.04 * ripple + grain * 0.08)
    });

    // Seaweed swaying up from the sand.
    for _ in 0..rng.between(3, 6) {
        let x = w * rng.unit();
        let root = (x, sand.at(x) + s * 0.02);
        let height = h * rng.range(0.3, 0.55);
        let sway = s * rng.range(0.03, 0.06);
        let phase = rng.range(0.0, TAU);
        let green = hex(0x3f8f5c).mix(hex(0x6f8a3a), rng.unit()).vary(rng, 0.04);
        stroke(
            c,
            |t| {
                (
                    root.0 + (t * 7.0 + phase).sin() * sway * t,
                    root.1 - t * height,
                )
            },
            24,
            (s * 0.024, s * 0.006),
            (green.scale(1.15), green.scale(0.8)),
        );
    }

    // Scallop shells resting on the sand.
    for _ in 0..rng.between(1, 3) {
        let x = w * rng.range(0.05, 0.95);
        let y = sand.at(x) + h * rng.range(0.04, 0.12);
        let r = s * rng.range(0.035, 0.055);
        shell(c, (x, y), r, hex(0xf2b89c).vary(rng, 0.05));
    }

    // Fish, swimming left or right.
    let palettes = [
        FishStyle {
            back: hex(0x5f86a8),
            belly: hex(0xdce9ee),
            fin: hex(0x8fb1c8),
        },
        FishStyle {
            back: hex(0xe07a3a),
            belly: hex(0xf8dcb0),
            fin: hex(0xf0a060),
        },
        FishStyle {
            back: hex(0xc45a52),
            belly: hex(0xf3cdb8),
            fin: hex(0xe58a78),
        },
    ];
    let palette = &palettes[(variant % 3) as usize];
    let count = rng.between(3, 6);
    let school_dir = rng.sign();
    let mut placed: Vec<(Point, f32)> = Vec::new();
    for _ in 0..count {
        let length = s * rng.range(0.14, 0.26);
        // A few tries to find open water, so fish do not pile on each other.
        let mut centre = (0.0, 0.0);
        for _ in 0..12 {
            centre = (w * rng.range(0.1, 0.9), h * rng.range(0.15, 0.68));
            let clear = placed.iter().all(|&((x, y), other)| {
                let reach = (length + other) * 0.5;
                (x - centre.0).abs() > reach || (y - centre.1).abs() > reach * 0.5
            });
            if clear {
                break;
            }
        }
        placed.push((centre, length));
        let dir = if rng.chance(0.8) {
            school_dir
        } else {
            -school_dir
        };
        let tilt = rng.range(-0.15, 0.15);
        fish(c, centre, length, dir, tilt, palette);
    }

    // Bubbles rising.
    for _ in 0..rng.between(6, 12) {
        let (x, y, r) = (
            w * rng.unit(),
            h * rng.range(0.05, 0.7),
            s * rng.range(0.006, 0.018),
        );
        let edge = Edge {
            opacity: 0.7,
            softness: 1.0,
        };
        c.soft(Rect::around(x, y, r, r), hex(0xeafaff), edge, |px, py| {
            circle(px, py, x, y, r).abs() - (r * 0.12).max(0.5)
        });
        let (hx, hy, hr) = (x - r * 0.35, y - r * 0.35, r * 0.25);
        c.soft(Rect::around(hx, hy, hr, hr), WHITE, edge, |px, py| {
            circle(px, py, hx, hy, hr)
        });
    }
}

fn fish(c: &mut Canvas, centre: Point, length: f32, dir: f32, tilt: f32, style: &FishStyle) {
    let (cx, cy) = centre;
    let half = length * 0.5;
    let body_half = half * 0.78;
    let depth = length * 0.2;
    // Work in the fish's own frame: x runs from tail (-) to head (+).
    let frame = move |x: f32, y: f32| {
        let (lx, ly) = local(x, y, cx, cy, tilt * dir);
        (lx * dir, ly)
    };
    let tail_root = -body_half * 0.85;
    let tail_tip = -half * 1.05;
    let body_sdf = move |lx: f32, ly: f32| {
        let body = vesica(lx, ly, body_half, depth);
        let head = ellipse(lx, ly, body_half * 0.3, 0.0, body_half * 0.62, depth * 0.92);
        smooth_union(body, head, depth * 0.3)
    };
    let tail_sdf = move |lx: f32, ly: f32| {
        let fan = triangle(
            lx,
            ly,
            (tail_root, 0.0),
            (tail_tip, -depth * 0.85),
            (tail_tip, depth * 0.85),
        );
        let notch = circle(lx, ly, tail_tip - depth * 0.35, 0.0, depth * 0.55);
        fan.max(-notch)
    };
    let area = Rect::around(cx, cy, half * 1.2, half * 1.2);
    // Fins and tail behind the body.
    let fin = style.fin;
    c.draw(
        area,
        Edge::CRISP,
        |x, y| {
            let (lx, ly) = frame(x, y);
            let dorsal = triangle(
                lx,
                ly,
                (body_half * 0.35, -depth * 0.7),
                (-body_half * 0.35, -depth * 0.75),
                (-body_half * 0.1, -depth * 1.35),
            );
            let belly = triangle(
                lx,
                ly,
                (-body_half * 0.05, depth * 0.7),
                (-body_half * 0.4, depth * 0.6),
                (-body_half * 0.35, depth * 1.1),
            );
            tail_sdf(lx, ly).min(dorsal).min(belly)
        },
        |x, y, _| {
            let (lx, _) = frame(x, y);
            fin.scale(0.85 + 0.15 * (lx / (depth * 0.12)).sin())
        },
    );
    let (back, belly) = (style.back, style.belly);
    c.draw(
        area,
        Edge::CRISP,
        |x, y| {
            let (lx, ly) = frame(x, y);
            body_sdf(lx, ly)
        },
        |x, y, _| {
            let (lx, ly) = frame(x, y);
            let v = clamp01(ly / depth * 0.5 + 0.55);
            let body = back.mix(belly, smoothstep(0.25, 0.75, v));
            let stripe = smoothstep(depth * 0.1, 0.0, (ly + depth * 0.05).abs());
            let scales = 0.96 + 0.04 * (lx / (depth * 0.18)).sin() * (ly / (depth * 0.18)).sin();
            body.mix(belly.mix(WHITE, 0.4), stripe * 0.35).scale(scales)
        },
    );
    // Gill line, pectoral fin and eye.
    let gill_x = body_half * 0.25;
    c.draw(
        area,
        Edge::CRISP,
        |x, y| {
            let (lx, ly) = frame(x, y);
            let ring =
                circle(lx, ly, gill_x - depth * 0.6, 0.0, depth * 0.75).abs() - depth * 0.035;
            ring.max(ly.abs() - depth * 0.55)
                .max(gill_x - depth * 0.2 - lx)
        },
        |_, _, _| back.mix(belly, 0.3).scale(0.8),
    );
    c.draw(
        area,
        Edge::CRISP,
        |x, y| {
            let (lx, ly) = frame(x, y);
            let (fx, fy) = local(lx, ly, gill_x - depth * 0.5, depth * 0.25, 0.5);
            vesica(fx, fy, depth * 0.4, depth * 0.14)
        },
        |_, _, _| fin.mix(WHITE, 0.25),
    );
    let eye_local = (body_half * 0.62, -depth * 0.2);
    let (sn, cs) = (tilt * dir).sin_cos();
    let eye = (
        cx + (eye_local.0 * dir) * cs - eye_local.1 * sn,
        cy + (eye_local.0 * dir) * sn + eye_local.1 * cs,
    );
    let er = depth * 0.2;
    c.solid(Rect::around(eye.0, eye.1, er, er), hex(0xf6f8f4), |x, y| {
        circle(x, y, eye.0, eye.1, er)
    });
    c.solid(Rect::around(eye.0, eye.1, er, er), hex(0x1c2630), |x, y| {
        circle(x, y, eye.0 + er * 0.15 * dir, eye.1, er * 0.6)
    });
    c.solid(Rect::around(eye.0, eye.1, er, er), WHITE, |x, y| {
        circle(x, y, eye.0 + er * 0.3 * dir, eye.1 - er * 0.25, er * 0.18)
    });
}

fn shell(c: &mut Canvas, hinge: Point, r: f32, colour: Colour) {
    let (hx, hy) = hinge;
    ground_shadow(c, hx, hy + r * 0.1, r * 1.1, r * 0.25, 0.3);
    c.draw(
        Rect::around(hx, hy - r * 0.5, r * 1.2, r * 1.2),
        Edge::CRISP,
        |x, y| {
            let fan = ellipse(x, y, hx, hy - r * 0.55, r, r * 0.75);
            let ears = rounded_rect(x, y, hx, hy - r * 0.05, (r * 0.45, r * 0.12), r * 0.04);
            smooth_union(fan, ears, r * 0.1).max(y - hy - r * 0.07)
        },
        |x, y, _| {
            let angle = (x - hx).atan2(hy - y + r * 0.2);
            let ribs = 0.5 + 0.5 * (angle * 18.0).cos();
            let fade = clamp01((hy - y) / r);
            colour.scale(0.82 + 0.18 * ribs).mix(WHITE, fade * 0.25)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Livestock: a hen beside a nest of eggs on straw, in front of a plank wall
// ---------------------------------------------------------------------------------------------

struct HenStyle {
    body: Colour,
    wing: Colour,
    tail: Colour,
}

fn paint_livestock(c: &mut Canvas, rng: &mut Rng, variant: u32) {
    let (w, h, s) = (c.w(), c.h(), c.s());
    let floor_y = h * rng.range(0.5, 0.58);

    // Wall of vertical planks.
    let plank = w / rng.between(5, 8) as f32;
    let wood = hex(0xb98d5f).vary(rng, 0.05);
    let wall_seed = rng.between(0, 1 << 20);
    c.fill(|x, y| {
        let index = (x / plank).floor();
        let tint = hash2(index as i32, 7, wall_seed) - 0.5;
        let grain = noise(x / (s * 0.004), y / (s * 0.08), wall_seed) - 0.5;
        let seam = (fract(x / plank) - 0.5).abs() * plank;
        let seam_dark = clamp01(seam - plank * 0.5 + 2.0);
        let light = 1.0 - 0.25 * (y / h.max(1.0));
        wood.scale((1.0 + tint * 0.12 + grain * 0.1) * light * (1.0 - 0.45 * seam_dark))
    });

    // Straw floor: a warm base and many short strands.
    let straw_base = hex(0xd6ae5c).vary(rng, 0.03);
    c.layer(
        Rect {
            y0: floor_y - 1.0,
            ..c.bounds()
        },
        |_, y, under| {
            let shade =
                straw_base.scale(0.85 + 0.15 * clamp01((y - floor_y) / (h - floor_y).max(1.0)));
            under.mix(shade, clamp01(y - floor_y + 0.5))
        },
    );
    let straw_colours = [hex(0xe8c872), hex(0xc99a45), hex(0xf0d890), hex(0xb9893c)];
    let strands = 420;
    for _ in 0..strands {
        let (x, y) = (w * rng.range(-0.05, 1.05), rng.range(floor_y, h * 1.02));
        let len = s * rng.range(0.03, 0.08);
        let angle = rng.range(-0.5, 0.5) + if rng.chance(0.5) { PI } else { 0.0 };
        let tone = straw_colours[rng.between(0, 3) as usize];
        straw(c, (x, y), len, angle, tone, s * 0.0035);
    }

    let hen_left = rng.chance(0.5);
    let (nest_x, hen_x) = if hen_left {
        (w * rng.range(0.64, 0.7), w * rng.range(0.2, 0.28))
    } else {
        (w * rng.range(0.3, 0.36), w * rng.range(0.72, 0.8))
    };
    let nest = (nest_x, h * rng.range(0.76, 0.82));
    let nest_size = s * rng.range(0.24, 0.28);
    nest_with_eggs(c, rng, nest, nest_size, &straw_colours);

    let style = if variant % 3 != 1 {
        HenStyle {
            body: hex(0xb7602f).vary(rng, 0.04),
            wing: hex(0x8a3f22),
            tail: hex(0x3b2c26),
        }
    } else {
        HenStyle {
            body: hex(0xf3eee4),
            wing: hex(0xd6c9b2),
            tail: hex(0xc9bca5),
        }
    };
    let facing = if hen_left { 1.0 } else { -1.0 };
    hen(
        c,
        (hen_x, h * rng.range(0.58, 0.64)),
        s * 0.2,
        facing,
        &style,
    );

    if rng.chance(0.6) {
        for i in 0..rng.between(1, 3) {
            // Chicks follow behind the hen, away from the nest.
            let x = hen_x - facing * s * (0.02 + 0.1 * i as f32) + rng.range(-0.02, 0.02) * s;
            chick(c, (x, h * rng.range(0.86, 0.92)), s * 0.035, facing);
        }
    }
}

fn straw(c: &mut Canvas, centre: Point, len: f32, angle: f32, tone: Colour, width: f32) {
    let (dx, dy) = (angle.cos() * len * 0.5, angle.sin() * len * 0.5);
    let a = (centre.0 - dx, centre.1 - dy);
    let b = (centre.0 + dx, centre.1 + dy);
    let r = width.max(0.5);
    c.draw(
        Rect::segment(a, b, r),
        Edge::CRISP,
        |x, y| capsule(x, y, a, b, r, r * 0.6),
        |_, _, d| tone.scale(1.0 - 0.25 * clamp01(1.0 + d / r)),
    );
}

fn nest_with_eggs(
    c: &mut Canvas,
    rng: &mut Rng,
    centre: Point,
    r: f32,
    straw_colours: &[Colour; 4],
) {
    let (nx, ny) = centre;
    let (rx, ry) = (r, r * 0.42);
    ground_shadow(c, nx, ny + ry * 0.6, rx * 1.05, ry * 0.7, 0.4);
    // The hollow.
    c.draw(
        Rect::around(nx, ny, rx, ry),
        Edge::CRISP,
        |x, y| ellipse(x, y, nx, ny, rx * 0.95, ry * 0.95),
        |_, y, _| hex(0x8a6430).mix(hex(0xb08444), clamp01((y - ny + ry) / (2.0 * ry))),
    );
    let ring = |c: &mut Canvas, rng: &mut Rng, front: bool| {
        for _ in 0..140 {
            let a = rng.range(0.0, TAU);
            if (a.sin() > 0.0) != front {
                continue;
            }
            let k = rng.range(0.8, 1.1);
            let p = (nx + a.cos() * rx * k, ny + a.sin() * ry * k);
            let angle = (a.cos() * ry).atan2(-a.sin() * rx) + rng.range(-0.35, 0.35);
            let tone = straw_colours[rng.between(0, 3) as usize];
            straw(c, p, r * rng.range(0.25, 0.45), angle, tone, r * 0.022);
        }
    };
    ring(c, rng, false);
    // Two rows of eggs, the back row higher up in the hollow.
    let egg_colours = [hex(0xf3e3c8), hex(0xd9a77a), hex(0xf7f2ea), hex(0xe8c9a2)];
    for (row_y, spread) in [(-0.45, 0.95), (0.0, 1.15)] {
        let eggs = rng.between(2, 3);
        for i in 0..eggs {
            let k = (i as f32 + 0.5) / eggs as f32 - 0.5;
            let ex = nx + k * rx * spread + rng.range(-0.05, 0.05) * rx;
            let ey = ny + ry * row_y + rng.range(-0.05, 0.05) * ry;
            let tone = egg_colours[rng.between(0, 3) as usize].vary(rng, 0.02);
            egg(c, (ex, ey), r * 0.22, k * 0.6 + rng.range(-0.2, 0.2), tone);
        }
    }
    ring(c, rng, true);
}

fn egg(c: &mut Canvas, centre: Point, size: f32, angle: f32, tone: Colour) {
    let (cx, cy) = centre;
    let (rx, ry) = (size * 0.75, size);
    c.draw(
        Rect::around(cx, cy, ry * 1.1, ry * 1.1),
        Edge::CRISP,
        |x, y| {
            let (lx, ly) = local(x, y, cx, cy, angle);
            // Narrower at the top.
            let narrow = 1.0 + 0.18 * clamp01(-ly / ry);
            ellipse(lx * narrow, ly, 0.0, 0.0, rx, ry)
        },
        |x, y, _| shaded_ball(tone, x - cx, y - cy, ry),
    );
}

fn hen(c: &mut Canvas, centre: Point, size: f32, facing: f32, style: &HenStyle) {
    let (cx, cy) = centre;
    let at = |fx: f32, fy: f32| (cx + facing * fx * size, cy + fy * size);
    let legs = hex(0xe0a93a);
    let feet_y = cy + 0.78 * size;
    ground_shadow(c, cx, feet_y, size * 0.85, size * 0.12, 0.35);
    for lx in [-0.15, 0.12] {
        let hip = at(lx, 0.4);
        let foot = at(lx + 0.03, 0.78);
        stroke(
            c,
            |t| (mix(hip.0, foot.0, t), mix(hip.1, foot.1, t)),
            1,
            (size * 0.035, size * 0.03),
            (legs, legs.scale(0.8)),
        );
        for toe in [-0.6_f32, 0.0, 0.6] {
            let a = if facing > 0.0 { toe } else { PI - toe };
            let tip = (
                foot.0 + a.cos() * size * 0.12,
                foot.1 + a.sin().abs() * size * 0.02,
            );
            stroke(
                c,
                |t| (mix(foot.0, tip.0, t), mix(foot.1, tip.1, t)),
                1,
                (size * 0.022, size * 0.015),
                (legs, legs.scale(0.8)),
            );
        }
    }
    // Tail feathers fanning up at the back.
    for (i, angle) in [-1.2_f32, -0.85, -0.5].into_iter().enumerate() {
        let root = at(-0.55, -0.05);
        let a = if facing > 0.0 { -PI - angle } else { angle };
        let len = size * (0.42 - 0.04 * i as f32);
        let centre = (root.0 + a.cos() * len * 0.8, root.1 + a.sin() * len * 0.8);
        leaf(
            c,
            centre,
            a,
            len,
            len * 0.32,
            style.tail.scale(1.0 + 0.08 * i as f32),
        );
    }
    // Body, breast, neck and head as one smooth shape.
    let body = at(0.0, 0.0);
    let breast = at(0.4, -0.1);
    let head = at(0.55, -0.72);
    let neck = at(0.42, -0.35);
    let (body_colour, wing_colour) = (style.body, style.wing);
    c.draw(
        Rect::around(cx, cy - size * 0.3, size * 1.2, size * 1.2),
        Edge::CRISP,
        |x, y| {
            let torso = ellipse(x, y, body.0, body.1, size * 0.62, size * 0.45);
            let chest = circle(x, y, breast.0, breast.1, size * 0.36);
            let upper = capsule(x, y, neck, head, size * 0.2, size * 0.2);
            smooth_union(smooth_union(torso, chest, size * 0.15), upper, size * 0.12)
        },
        |_, y, _| {
            let shade = clamp01((y - cy + size * 0.6) / (size * 1.1));
            body_colour
                .mix(WHITE, 0.12 * (1.0 - shade))
                .scale(1.0 - 0.2 * shade)
        },
    );
    // Wing with scalloped feather rows.
    let wing = at(-0.08, -0.02);
    for (k, (off, rx, ry)) in [(0.0, 0.4, 0.24), (-0.12, 0.3, 0.2), (-0.22, 0.22, 0.16)]
        .into_iter()
        .enumerate()
    {
        let (wx, wy) = (
            wing.0 + facing * off * size,
            wing.1 + (0.03 + k as f32 * 0.02) * size,
        );
        let tone = wing_colour.scale(1.0 - 0.08 * k as f32);
        c.draw(
            Rect::around(wx, wy, rx * size, rx * size),
            Edge::CRISP,
            |x, y| {
                let (lx, ly) = local(x, y, wx, wy, -0.25 * facing);
                ellipse(lx, ly, 0.0, 0.0, rx * size, ry * size)
            },
            |_, y, _| tone.scale(1.08 - 0.15 * clamp01((y - wy + ry * size) / (2.0 * ry * size))),
        );
    }
    // Comb, wattle, beak and eye.
    let red = hex(0xd8403a);
    for (fx, fy, r) in [
        (0.45, -0.95, 0.08),
        (0.55, -0.98, 0.09),
        (0.65, -0.93, 0.075),
    ] {
        let (px, py) = at(fx, fy);
        c.draw(
            Rect::around(px, py, r * size, r * size),
            Edge::CRISP,
            |x, y| circle(x, y, px, py, r * size),
            |x, y, _| shaded_ball(red, x - px, y - py, r * size),
        );
    }
    let wattle = at(0.7, -0.55);
    c.solid(
        Rect::around(wattle.0, wattle.1, size * 0.1, size * 0.1),
        red.scale(0.95),
        |x, y| ellipse(x, y, wattle.0, wattle.1, size * 0.05, size * 0.08),
    );
    let beak = [at(0.7, -0.76), at(0.7, -0.64), at(0.86, -0.68)];
    c.solid(Rect::points(&beak, 1.0), hex(0xe8b23a), |x, y| {
        triangle(x, y, beak[0], beak[1], beak[2])
    });
    let eye = at(0.6, -0.76);
    let er = size * 0.045;
    c.solid(Rect::around(eye.0, eye.1, er, er), hex(0x1e1a18), |x, y| {
        circle(x, y, eye.0, eye.1, er)
    });
    c.solid(Rect::around(eye.0, eye.1, er, er), WHITE, |x, y| {
        circle(x, y, eye.0 + facing * er * 0.3, eye.1 - er * 0.3, er * 0.3)
    });
}

fn chick(c: &mut Canvas, centre: Point, size: f32, facing: f32) {
    let (cx, cy) = centre;
    let yellow = hex(0xf5d35a);
    ground_shadow(c, cx, cy + size * 0.9, size * 1.1, size * 0.2, 0.3);
    let head = (cx + facing * size * 0.55, cy - size * 0.7);
    c.draw(
        Rect::around(cx, cy - size * 0.3, size * 1.8, size * 1.8),
        Edge::CRISP,
        |x, y| {
            smooth_union(
                ellipse(x, y, cx, cy, size, size * 0.85),
                circle(x, y, head.0, head.1, size * 0.6),
                size * 0.2,
            )
        },
        |x, y, _| shaded_ball(yellow, x - cx, y - cy + size * 0.3, size * 1.4),
    );
    let beak = [
        (head.0 + facing * size * 0.5, head.1 - size * 0.12),
        (head.0 + facing * size * 0.5, head.1 + size * 0.12),
        (head.0 + facing * size * 0.85, head.1),
    ];
    c.solid(Rect::points(&beak, 1.0), hex(0xe88a2a), |x, y| {
        triangle(x, y, beak[0], beak[1], beak[2])
    });
    let eye = (head.0 + facing * size * 0.22, head.1 - size * 0.1);
    let er = size * 0.1;
    c.solid(Rect::around(eye.0, eye.1, er, er), hex(0x2a2220), |x, y| {
        circle(x, y, eye.0, eye.1, er)
    });
}

// ---------------------------------------------------------------------------------------------
// Handicraft: a round bamboo tray on a woven bamboo mat
// ---------------------------------------------------------------------------------------------

/// A woven pattern: strips `strip` pixels wide in two directions (turned by `angle`), each
/// crossing going over `over` strips and under as many (1 is a plain weave, 2 a twill).
struct Weave {
    angle: f32,
    strip: f32,
    over: i32,
    warp: Colour,
    weft: Colour,
    gap: Colour,
    seed: u32,
}

impl Weave {
    /// The colour of the weave at a point.
    fn at(&self, x: f32, y: f32) -> Colour {
        let (u, v) = local(x, y, 0.0, 0.0, self.angle);
        let strip = self.strip.max(2.0);
        let (fu, fv) = (u / strip, v / strip);
        let (i, j) = (fu.floor() as i32, fv.floor() as i32);
        let (cu, cv) = (fu - fu.floor(), fv - fv.floor());
        let weft_on_top = (i.wrapping_sub(j)).rem_euclid(self.over * 2) < self.over;
        // Across the visible strip: rounded shading; along it: a dip where it goes under.
        let (across, along, base, fibre) = if weft_on_top {
            (
                cv,
                cu,
                self.weft,
                noise(u / (strip * 2.0), v / 1.5, self.seed),
            )
        } else {
            (
                cu,
                cv,
                self.warp,
                noise(u / 1.5, v / (strip * 2.0), self.seed),
            )
        };
        let round = 0.86 + 0.14 * (across * PI).sin();
        let dip = 1.0 - 0.2 * (1.0 - (along * PI).sin()).powi(3);
        let edge_px = across.min(1.0 - across) * strip;
        let gap = clamp01(1.2 - edge_px);
        base.scale(round * dip * (0.94 + 0.12 * fibre))
            .mix(self.gap, gap * 0.8)
    }
}

fn paint_handicraft(c: &mut Canvas, rng: &mut Rng) {
    let (w, h, s) = (c.w(), c.h(), c.s());
    let tone = rng.range(-0.04, 0.04);
    let mat = Weave {
        angle: rng.range(0.2, 0.6) * rng.sign(),
        strip: s * rng.range(0.045, 0.06),
        over: 2,
        warp: hex(0xc79b5e).scale(1.0 + tone),
        weft: hex(0xddb97a).scale(1.0 + tone),
        gap: hex(0x6b4a2a),
        seed: rng.between(0, 1 << 20),
    };
    c.fill(|x, y| {
        let vignette =
            1.0 - 0.25 * ((x / w.max(1.0) - 0.5).powi(2) + (y / h.max(1.0) - 0.5).powi(2));
        mat.at(x, y).scale(vignette)
    });

    let trays = if rng.chance(0.4) { 2 } else { 1 };
    for k in 0..trays {
        let (cx, cy, r) = if k == 0 {
            (
                w * rng.range(0.42, 0.58),
                h * rng.range(0.45, 0.55),
                s * rng.range(0.36, 0.42),
            )
        } else {
            // A second, smaller tray peeking in at a top corner.
            let corner = if rng.chance(0.5) { 0.0 } else { w };
            (
                corner + rng.range(-0.05, 0.05) * w,
                h * rng.range(0.0, 0.15),
                s * 0.3,
            )
        };
        tray(c, rng, (cx, cy), r);
    }
}

fn tray(c: &mut Canvas, rng: &mut Rng, centre: Point, r: f32) {
    let (cx, cy) = centre;
    let s = c.s();
    let shadow = Edge {
        opacity: 0.45,
        softness: r * 0.25,
    };
    let (sx, sy) = (cx + r * 0.06, cy + r * 0.09);
    c.soft(
        Rect::around(sx, sy, r * 1.3, r * 1.3),
        hex(0x2a1c10),
        shadow,
        |x, y| circle(x, y, sx, sy, r),
    );
    let inner = Weave {
        angle: rng.range(0.0, PI),
        strip: (s * rng.range(0.022, 0.03)).max(2.0),
        over: 1,
        warp: hex(0xd8b06a),
        weft: hex(0xe9cc8c),
        gap: hex(0x7a5530),
        seed: rng.between(0, 1 << 20),
    };
    let rim = r * 0.08;
    c.draw(
        Rect::around(cx, cy, r, r),
        Edge::CRISP,
        |x, y| circle(x, y, cx, cy, r - rim),
        |x, y, _| {
            let d = (x - cx).hypot(y - cy) / r;
            // A shallow bowl lit from the upper left: the far (lower right) slope catches the
            // light, the rim shades the near (upper left) side.
            let (nx, ny) = ((x - cx) / r, (y - cy) / r);
            let facing = nx * 0.6 + ny * 0.8;
            let light = 1.0 + 0.12 * facing;
            let rim_shadow = smoothstep(0.55, 0.9, d) * clamp01(-facing / d.max(0.01)) * 0.35;
            inner.at(x, y).scale(light * (1.0 - rim_shadow))
        },
    );
    let binding = hex(0xb9874a);
    c.draw(
        Rect::around(cx, cy, r + 1.0, r + 1.0),
        Edge::CRISP,
        |x, y| circle(x, y, cx, cy, r - rim).abs() - rim,
        |x, y, _| {
            let (dx, dy) = (x - cx, y - cy);
            let dist = dx.hypot(dy).max(1e-3);
            let across = clamp01((dist - (r - 2.0 * rim)) / (2.0 * rim)) * 2.0 - 1.0;
            let normal = (dx / dist * across, dy / dist * across);
            let lambert = clamp01(0.75 - 0.5 * (normal.0 * 0.6 + normal.1 * 0.8));
            let theta = dy.atan2(dx);
            let wrap = fract(theta * r / (rim * 1.3) / TAU * 6.0 + across * 0.4);
            let band = smoothstep(0.08, 0.0, (wrap - 0.5).abs() - 0.4);
            binding.scale(0.7 + 0.5 * lambert).scale(1.0 - 0.3 * band)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Anything else: a calm still life of a glazed jar and a bowl of fruit on a table
// ---------------------------------------------------------------------------------------------

fn paint_still_life(c: &mut Canvas, rng: &mut Rng) {
    let (w, h, s) = (c.w(), c.h(), c.s());
    let table_y = h * rng.range(0.5, 0.58);
    // Where the objects stand: a little in front of the table's back edge.
    let rest_y = table_y + (h - table_y) * 0.4;
    let wall = hex(0xeee4d3).vary(rng, 0.02);
    let wood = hex(0xa5764a).vary(rng, 0.04);
    let seed = rng.between(0, 1 << 20);
    let light_x = w * rng.range(0.2, 0.8);
    c.fill(|x, y| {
        if y < table_y {
            let glow =
                1.0 - 0.12 * ((x - light_x) / w.max(1.0)).abs() - 0.1 * (y / table_y.max(1.0));
            wall.scale(glow)
        } else {
            let grain = fbm(x / (s * 0.4), y / (s * 0.02), seed) - 0.5;
            let near = (y - table_y) / (h - table_y).max(1.0);
            wood.scale(1.05 + grain * 0.16 - 0.15 * near)
        }
    });
    c.layer(Rect::around(w * 0.5, table_y, w, 2.0), |_, y, under| {
        under.mix(wood.scale(1.25), clamp01(1.5 - (y - table_y).abs()))
    });

    // A glazed jar.
    let glaze = [hex(0x7fa8a0), hex(0x6d8fb8), hex(0xc9a06a)][rng.between(0, 2) as usize];
    let jx = w * rng.range(0.28, 0.38);
    let jr = s * rng.range(0.16, 0.19);
    let jy = rest_y - jr * 0.95;
    ground_shadow(c, jx + jr * 0.3, rest_y, jr * 1.1, jr * 0.12, 0.45);
    c.draw(
        Rect::around(jx, jy - jr * 0.6, jr * 1.2, jr * 1.7),
        Edge::CRISP,
        |x, y| {
            let body = ellipse(x, y, jx, jy, jr, jr * 0.95);
            let neck = rounded_rect(x, y, jx, jy - jr * 1.05, (jr * 0.38, jr * 0.3), jr * 0.06);
            smooth_union(body, neck, jr * 0.2)
        },
        |x, y, _| {
            let band = smoothstep(jr * 0.03, 0.0, (y - jy + jr * 0.55).abs() - jr * 0.03);
            shaded_ball(glaze, x - jx, y - jy, jr).mix(glaze.scale(0.6), band * 0.6)
        },
    );
    let (lip_y, lip_r) = (jy - jr * 1.35, jr * 0.42);
    c.solid(
        Rect::around(jx, lip_y, lip_r, lip_r),
        glaze.scale(0.85),
        |x, y| ellipse(x, y, jx, lip_y, lip_r, lip_r * 0.22),
    );
    c.solid(
        Rect::around(jx, lip_y, lip_r, lip_r),
        glaze.scale(0.45),
        |x, y| ellipse(x, y, jx, lip_y, lip_r * 0.75, lip_r * 0.13),
    );

    // A shallow bowl on a foot, holding round fruit.
    let bx = w * rng.range(0.62, 0.7);
    let br = s * rng.range(0.17, 0.2);
    let rim_y = rest_y - br * 0.62;
    ground_shadow(c, bx + br * 0.2, rest_y, br * 0.95, br * 0.1, 0.45);
    let fruit_colour = [hex(0xe8822a), hex(0xd9483a), hex(0xe6c84a)][rng.between(0, 2) as usize];
    let fruits = rng.between(2, 3);
    for i in 0..fruits {
        let k = (i as f32 + 0.5) / fruits as f32 - 0.5;
        let fr = br * rng.range(0.3, 0.34);
        let fx = bx + k * br * 1.1 + rng.range(-0.04, 0.04) * br;
        let fy = rim_y - fr * rng.range(0.35, 0.6);
        let tone = fruit_colour.vary(rng, 0.05);
        c.draw(
            Rect::around(fx, fy, fr, fr),
            Edge::CRISP,
            |x, y| circle(x, y, fx, fy, fr),
            |x, y, _| shaded_ball(tone, x - fx, y - fy, fr),
        );
    }
    let bowl = hex(0xf4efe6);
    let trim = hex(0x6d8fb8);
    let bowl_sdf = move |x: f32, y: f32| {
        let cup = ellipse(x, y, bx, rim_y, br, br * 0.55).max(rim_y - y);
        let foot = rounded_rect(
            x,
            y,
            bx,
            rest_y - br * 0.05,
            (br * 0.32, br * 0.06),
            br * 0.03,
        );
        smooth_union(cup, foot, br * 0.05)
    };
    c.draw(
        Rect::around(bx, rest_y - br * 0.4, br * 1.1, br),
        Edge::CRISP,
        bowl_sdf,
        |x, y, _| shaded_ball(bowl, x - bx, y - rim_y, br).mix(bowl, 0.4),
    );
    c.solid(
        Rect::around(bx, rim_y + br * 0.1, br * 1.1, br * 0.2),
        trim,
        |x, y| rounded_rect(x, y, bx, rim_y + br * 0.12, (br, br * 0.025), 0.0).max(bowl_sdf(x, y)),
    );
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every category the market has, and one it does not.
    fn categories() -> Vec<&'static str> {
        crate::domain::listing::Category::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(["something_else"])
            .collect()
    }

    #[test]
    fn same_inputs_give_identical_pixels() {
        for category in categories() {
            let a = paint(category, 3, 120, 90);
            let b = paint(category, 3, 120, 90);
            assert_eq!(a.as_raw(), b.as_raw(), "{category} is not deterministic");
        }
    }

    #[test]
    fn variants_differ() {
        for category in categories() {
            let a = paint(category, 0, 120, 90);
            let b = paint(category, 1, 120, 90);
            let changed = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
            assert!(
                changed > 120 * 90 / 10,
                "{category}: variants 0 and 1 differ in only {changed} pixels"
            );
        }
    }

    #[test]
    fn every_category_paints_a_varied_picture() {
        for category in categories() {
            let image = paint(category, 7, 160, 120);
            assert_eq!(image.dimensions(), (160, 120));
            let colours: HashSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
            assert!(
                colours.len() > 200,
                "{category} has only {} distinct colours",
                colours.len()
            );
        }
    }

    #[test]
    fn small_odd_and_empty_sizes_do_not_panic() {
        for category in categories() {
            for variant in 0..4 {
                for (w, h) in [
                    (16, 16),
                    (17, 16),
                    (16, 200),
                    (300, 16),
                    (1, 1),
                    (0, 0),
                    (0, 5),
                    (3, 2),
                ] {
                    let image = paint(category, variant, w, h);
                    assert_eq!(image.dimensions(), (w, h));
                }
            }
        }
    }

    #[test]
    fn distances_have_the_right_sign() {
        assert!(circle(0.0, 0.0, 0.0, 0.0, 2.0) < 0.0);
        assert!(circle(3.0, 0.0, 0.0, 0.0, 2.0) > 0.0);
        assert!(ellipse(0.0, 0.0, 0.0, 0.0, 5.0, 2.0) < 0.0);
        assert!((ellipse(5.0, 0.0, 0.0, 0.0, 5.0, 2.0)).abs() < 0.01);
        assert!(vesica(0.0, 0.0, 4.0, 1.0) < 0.0);
        assert!(vesica(0.0, 1.5, 4.0, 1.0) > 0.0);
        let tri = ((0.0, 0.0), (4.0, 0.0), (0.0, 4.0));
        assert!(triangle(1.0, 1.0, tri.0, tri.1, tri.2) < 0.0);
        assert!(triangle(3.0, 3.0, tri.0, tri.1, tri.2) > 0.0);
        assert!(capsule(2.0, 0.5, (0.0, 0.0), (4.0, 0.0), 1.0, 1.0) < 0.0);
    }
}
