//! `chaperone detect`: the cat, the rat and anything else in still images, as a table or JSON, with
//! the annotated images when asked.

use std::path::{Path, PathBuf};

use super::Exit;
use crate::config::Config;
use crate::detect::{AnimalDetector, Detection, Detector};
use crate::error::{Error, Result};
use crate::output::annotate;
use crate::source::read_image;

#[derive(clap::Args)]
pub struct Args {
    /// Image files (PNG, JPEG, BMP).
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
    /// Print JSON (an array, one object per image) instead of a table.
    #[arg(long)]
    json: bool,
    /// Write the image with labelled boxes here; with several images, a directory to write into.
    #[arg(long, value_name = "OUT")]
    annotate: Option<PathBuf>,
}

#[derive(serde::Serialize)]
struct ImageReport<'a> {
    image: &'a Path,
    width: u32,
    height: u32,
    detections: Vec<Detection>,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    // Loaded on the first readable image: a run over bad files answers at once, without the seconds
    // the SSD takes to load. A model that cannot load is fatal, not a per-image error.
    let mut detector: Option<AnimalDetector> = None;
    let annotate_dir = args.annotate.as_ref().filter(|p| args.images.len() > 1 || p.is_dir());
    if let Some(dir) = annotate_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut reports = Vec::new();
    let mut failed = false;
    for path in &args.images {
        // One bad image does not stop the others; it is reported and the exit code says so.
        let image = match read_image(path) {
            Ok(image) => image,
            Err(err) => {
                eprintln!("chaperone: {err}");
                failed = true;
                continue;
            }
        };
        let detector = match &mut detector {
            Some(d) => d,
            None => detector.insert(AnimalDetector::load(&config.runtime, &config.detector, &config.roles)?),
        };
        let out = args.annotate.as_ref().map(|out| match annotate_dir {
            Some(dir) => dir.join(annotated_name(path)),
            None => out.clone(),
        });
        let outcome = detect_one(detector, path, &image, out.as_deref());
        match outcome {
            Ok(report) => {
                if !args.json {
                    print_report(&report);
                }
                reports.push(report);
            }
            Err(err) => {
                eprintln!("chaperone: {err}");
                failed = true;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports).expect("detections serialise"));
    }
    Ok(if failed { Exit::Failed } else { Exit::Success })
}

fn detect_one<'a>(
    detector: &mut AnimalDetector,
    path: &'a Path,
    image: &image::RgbImage,
    annotate_to: Option<&Path>,
) -> Result<ImageReport<'a>> {
    let detections = detector.detect(image)?;
    if let Some(out) = annotate_to {
        let mut canvas = image.clone();
        annotate::draw_detections(&mut canvas, &detections);
        canvas.save(out).map_err(|e| Error::Image { path: out.into(), message: format!("cannot write: {e}") })?;
    }
    Ok(ImageReport { image: path, width: image.width(), height: image.height(), detections })
}

fn annotated_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
    format!("{stem}.annotated.png")
}

fn print_report(report: &ImageReport) {
    let n = report.detections.len();
    println!(
        "{} ({}x{}): {n} detection{}",
        report.image.display(),
        report.width,
        report.height,
        if n == 1 { "" } else { "s" }
    );
    for d in &report.detections {
        let b = &d.bbox;
        let mut line = format!(
            "  {:<5} {:<12} {:.2}  [{:.0}, {:.0}, {:.0}, {:.0}]",
            d.role.to_string(),
            d.class_name,
            d.score,
            b.x1,
            b.y1,
            b.x2,
            b.y2
        );
        if let Some(e) = &d.evidence {
            line.push_str(&format!(
                "  crop: {} {:.2} (cat {:.2}, rodent {:.2}, dog {:.2})",
                e.top_label, e.top_score, e.cat_family, e.rodent_like, e.dog_family
            ));
        }
        println!("{line}");
    }
}
