//! `chaperone zones`: a config's enclosure and shelters drawn on a real frame of real footage, each
//! with what it turns on, and a warning for a shelter where no rat can be seen; a bad zone is refused
//! naming its key.

mod common;

#[test]
fn the_zones_are_drawn_on_the_videos_first_frame_and_explained() {
    let Some(video) = common::media("mouse-openfield/openfield-mouse.mp4") else { return };
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("room.toml");
    std::fs::write(
        &config,
        "[roles]\nenclosure = [[0.25, 0.2], [0.95, 0.2], [0.95, 0.95], [0.25, 0.95]]\n\n[behaviour.hiding]\n\
         shelters = [{ name = \"tube\", area = [0.6, 0.6, 0.75, 0.8] }, [[0.0, 0.0], [0.01, 0.0], [0.0, 0.01]]]\n",
    )
    .unwrap();
    let picture = work.path().join("zones.png");
    let out = common::chaperone(&[
        "--config",
        config.to_str().unwrap(),
        "zones",
        video.to_str().unwrap(),
        "--out",
        picture.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("(640x480)"), "{stdout}");
    assert!(stdout.contains("enclosure") && stdout.contains("polygon of 4 corners, 52.5% of the frame"), "{stdout}");
    assert!(stdout.contains("shelter: tube") && stdout.contains("(384,288) (480,288) (480,384) (384,384)"), "{stdout}");
    assert!(stdout.contains("hiding: the rat out of sight"), "what a shelter turns on: {stdout}");
    assert!(stdout.contains("warning: shelter 2 lies outside the enclosure"), "{stdout}");
    assert!(!stdout.contains("warning: tube"), "{stdout}");

    let drawn = image::open(&picture).unwrap().to_rgb8();
    assert_eq!(drawn.dimensions(), (640, 480));
    let green = |x: u32, y: u32| {
        let p = drawn.get_pixel(x, y);
        p[1] > 150 && p[1] > p[0] + 60 && p[1] > p[2] + 40
    };
    let amber = |x: u32, y: u32| {
        let p = drawn.get_pixel(x, y);
        p[0] > 200 && p[1] > 140 && p[2] < 80
    };
    assert!((400..470).all(|x| green(x, 288) || green(x, 289)), "the tube's top edge is drawn");
    assert!((200..500).all(|x| amber(x, 456) || amber(x, 457)), "the enclosure's bottom edge is drawn");
    let untouched = image::open(common::extract_frame(&video, 0.0, work.path())).unwrap().to_rgb8();
    let (a, b) = (drawn.get_pixel(300, 300), untouched.get_pixel(300, 300));
    assert!(a.0.iter().zip(b.0).all(|(x, y)| x.abs_diff(y) <= 2), "inside, the frame itself: {a:?} {b:?}");
}

#[test]
fn a_polygon_of_two_corners_is_refused_naming_its_key() {
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("bad.toml");
    std::fs::write(&config, "[behaviour.hiding]\nshelters = [[[0.1, 0.1], [0.2, 0.2]]]\n").unwrap();
    let out = common::chaperone(&["--config", config.to_str().unwrap(), "zones", "fixtures/none.png"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("behaviour.hiding.shelters[0] must be [x1, y1, x2, y2] or a polygon"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}
