//! Pictures (plotters), each written as PNG and SVG:
//! - [`pr`]: precision-recall curves from `tune`;
//! - [`timeline`]: a session or an analysed video at a glance (an ethogram with the cat-rat distance);
//! - [`history`]: sessions over days (`chaperone history --plot`).
//!
//! Text needs a font: DejaVu Sans from the system (Debian's `fonts-dejavu-core`, installed by set-up) or
//! `$CHAPERONE_FONT`. Colours are chosen to stay apart when printed in grey, and every colour also has a
//! label or a marker shape.

pub mod history;
pub mod pr;
pub mod timeline;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

pub use pr::pr_curves;

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Registers the font once; an error says what to install.
fn font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let candidates: Vec<PathBuf> = std::env::var_os("CHAPERONE_FONT")
                .map(PathBuf::from)
                .into_iter()
                .chain(FONT_PATHS.iter().map(PathBuf::from))
                .collect();
            let path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
                "no font for the pictures' text: install fonts-dejavu-core (scripts/setup.sh does) or set CHAPERONE_FONT to a .ttf file".to_string()
            })?;
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            // Plotters keeps fonts for the life of the program.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("{}: not a usable font", path.display()))
        })
        .clone()
        .map_err(Error::Config)
}

/// The axes' common look: readable labels, faint major grid lines only (minor ones turn a lane into a
/// barcode).
pub(crate) fn quiet_mesh<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
    DB: DrawingBackend,
{
    mesh.label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(225, 225, 225))
}

/// Something drawn the same way on any plotters backend.
pub trait Picture {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// Grey value of a colour (ITU-R BT.601 luma), as a grey print shows it.
#[cfg(test)]
pub(crate) fn luma(c: RGBColor) -> f64 {
    0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64
}

/// True when every pair of `colours` differs in grey by at least `min`.
#[cfg(test)]
pub(crate) fn apart_in_grey(colours: &[RGBColor], min: f64) -> bool {
    colours.iter().enumerate().all(|(i, a)| colours[i + 1..].iter().all(|b| (luma(*a) - luma(*b)).abs() >= min))
}

/// Draws `picture` to `STEM.png` and `STEM.svg`; returns both paths.
pub fn save(picture: &impl Picture, stem: &Path) -> Result<Vec<PathBuf>> {
    font()?;
    let size = picture.size();
    let png = PathBuf::from(format!("{}.png", stem.display()));
    let svg = PathBuf::from(format!("{}.svg", stem.display()));
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        picture.draw(&root).map_err(|e| Error::Config(format!("cannot draw {}: {e}", png.display())))?;
    }
    image::RgbImage::from_raw(size.0, size.1, pixels)
        .expect("the buffer has the picture's size")
        .save(&png)
        .map_err(|e| Error::Image { path: png.clone(), message: format!("cannot write: {e}") })?;
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        picture.draw(&root).map_err(|e| Error::Config(format!("cannot write {}: {e}", svg.display())))?;
    }
    Ok(vec![png, svg])
}
