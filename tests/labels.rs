//! Labels from other tools: every real export in `../shared/formats` reads with the behaviours,
//! subjects and times it holds; a foreign or truncated file is one clear line; and a recording scored
//! through a BORIS export scores exactly as through the bouts CSV of the same intervals.

mod common;

use std::path::Path;

use chaperone::labels::{LabelFile, LabelFormat, LabelsConfig, Time};

fn read(relative: &str) -> Option<LabelFile> {
    let path = common::formats(relative)?;
    Some(LabelFile::read(&path, None).unwrap_or_else(|e| panic!("{relative}: {e}")))
}

fn seconds(t: Time) -> f64 {
    match t {
        Time::Seconds(s) => s,
        Time::Frame(f) => panic!("expected seconds, got frame {f}"),
    }
}

/// `(behaviour, bouts)` of a file, sorted by name.
fn behaviours(file: &LabelFile) -> Vec<(String, usize)> {
    file.behaviours().into_iter().map(|(n, c)| (n.to_string(), c)).collect()
}

fn pairs(list: &[(&str, usize)]) -> Vec<(String, usize)> {
    list.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

#[test]
fn boris_aggregated_events_read_with_states_points_and_media() {
    let Some(file) = read("boris_aggregated/BORIS_tests_test_export_aggregated_events_test_full_1.tsv") else {
        return;
    };
    assert_eq!(file.format, LabelFormat::BorisAggregated);
    assert_eq!(file.fps, Some(25.0));
    assert_eq!(behaviours(&file), pairs(&[("p", 8), ("s", 10)]));
    assert_eq!(file.subjects().into_iter().collect::<Vec<_>>(), ["No focal subject", "subject1", "subject2"]);
    assert_eq!(file.media().len(), 2, "one observation over two media files");
    let first = &file.rows[0];
    assert_eq!((first.behaviour.as_str(), seconds(first.start), seconds(first.end)), ("s", 1.8, 8.125));
    // A point event is an instant.
    let point = file.rows.iter().find(|r| r.behaviour == "p").unwrap();
    assert_eq!(seconds(point.start), seconds(point.end));
}

#[test]
fn boris_event_exports_of_v7_and_v8_pair_their_starts_and_stops() {
    // (file, fps, behaviours with bouts, subjects, first bout)
    type Case<'a> = (&'a str, f64, &'a [(&'a str, usize)], &'a [&'a str], (f64, f64));
    let cases: [Case; 5] = [
        (
            "boris_events/BORIS_tests_test_export_events_tabular.tsv",
            25.0,
            &[("s", 4)],
            &["subject1", "subject2"],
            (3.3, 7.75),
        ),
        (
            "boris_events/ethome_e3v813a-20210610T120637-121213_reencode.csv",
            30.0,
            &[("interact", 15)],
            &["adult"],
            (17.075, 22.1),
        ),
        (
            "boris_events/simba_misc_boris_example_v7_export_events_CSDS_mouse.csv",
            15.0,
            &[("attack", 3), ("sniffing", 2)],
            &[""],
            (1.876, 2.701),
        ),
        (
            "boris_events/simba_tests_boris_import_File1_mouse_homecage.csv",
            12.7,
            &[
                ("Attack", 12),
                ("digging", 6),
                ("drinking", 8),
                ("grooming", 20),
                ("nesting", 5),
                ("still inside nest", 17),
                ("still outside nest", 26),
                ("undetermined", 13),
                ("walking", 60),
            ],
            &["Mouse 1"],
            (0.0, 123.024),
        ),
        (
            "boris_events_v8/simba_misc_boris_new_example_v8_export_events.csv",
            59.94,
            &[("behavior1", 24), ("behavior2", 35), ("behavior3", 3)],
            &[""],
            (5.355, 9.626),
        ),
    ];
    for (relative, fps, expected, subjects, (start, end)) in cases {
        let Some(file) = read(relative) else { continue };
        assert_eq!(file.format, LabelFormat::BorisEvents, "{relative}");
        assert_eq!(file.fps, Some(fps), "{relative}");
        assert_eq!(behaviours(&file), pairs(expected), "{relative}");
        assert_eq!(file.subjects().into_iter().collect::<Vec<_>>(), subjects, "{relative}");
        let first = &file.rows[0];
        assert_eq!((seconds(first.start), seconds(first.end)), (start, end), "{relative}: {first:?}");
        assert!(file.rows.iter().all(|r| seconds(r.end) >= seconds(r.start)), "{relative}");
    }
}

#[test]
fn bento_and_simba_files_read_with_every_behaviour_they_list() {
    if let Some(file) = read("caltech_bento_annot/simba_misc_bento_example_Mouse06.annot") {
        assert_eq!((file.format, file.fps), (LabelFormat::Bento, Some(30.0)));
        let with_bouts: Vec<_> = behaviours(&file).into_iter().filter(|(_, n)| *n > 0).collect();
        assert_eq!(with_bouts, pairs(&[("attack", 131), ("sniff", 98)]));
        assert_eq!(file.behaviours().len(), 9, "the nine annotation names it lists");
        let first = &file.rows[0];
        assert!((seconds(first.start) - 3.0333).abs() < 1e-3 && (seconds(first.end) - 5.2333).abs() < 1e-3);
    }
    if let Some(file) = read("simba_machine_results/simba_two_c57_Together_1_machine_results_HEADER_PLUS_2ROWS.csv") {
        assert_eq!(file.format, LabelFormat::Simba);
        // Both classifiers are 0 in the two rows there are.
        assert_eq!(behaviours(&file), pairs(&[("Attack", 0), ("Sniffing", 0)]));
    }
}

#[test]
fn per_frame_tables_and_caltech_files_become_bouts_of_frames() {
    let dir = tempfile::tempdir().unwrap();
    // ezTrack FreezingOutput, in the columns FreezeAnalysis writes (no real one is published: see
    // ../shared/formats/SOURCES.md): Freezing is 100 while frozen.
    let eztrack = dir.path().join("rat_FreezingOutput.csv");
    let mut text = "File,FPS,MotionCutoff,FreezeThresh,MinFreezeDuration,Frame,Motion,Freezing\n".to_string();
    for frame in 0..20 {
        let frozen = (3..=7).contains(&frame) || frame >= 15;
        text += &format!(
            "rat.mp4,25,10.0,180,50,{frame},{},{}\n",
            if frozen { 12 } else { 900 },
            if frozen { 100 } else { 0 }
        );
    }
    std::fs::write(&eztrack, text).unwrap();
    let file = LabelFile::read(&eztrack, None).unwrap();
    assert_eq!((file.format, file.fps), (LabelFormat::Eztrack, Some(25.0)));
    let bouts = |file: &LabelFile| file.rows.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>();
    assert_eq!(bouts(&file), [(Time::Frame(3), Time::Frame(7)), (Time::Frame(15), Time::Frame(19))]);
    let resolved = file.resolve(&LabelsConfig::default(), Some(Path::new("rat.mp4")), None).unwrap();
    assert_eq!(resolved.bouts.len(), 2);
    assert_eq!((resolved.bouts[0].start_s, resolved.bouts[0].end_s), (3.0 / 25.0, 7.0 / 25.0));

    // Caltech Behavior Annotator: streams of `start end type`, frames from 1.
    let caltech = dir.path().join("rat.txt");
    std::fs::write(
        &caltech,
        "Caltech Behavior Annotator - Annotation File\n\nConfiguration file:\nother\to\nfreeze\tf\n\n\
         S1: \tstart\tend\ttype\n-----------------------------\n\t1\t10\tother\n\t11\t30\tfreeze\n\t31\t40\tother\n",
    )
    .unwrap();
    let file = LabelFile::read(&caltech, None).unwrap();
    assert_eq!(file.format, LabelFormat::Caltech);
    assert_eq!(file.rows[1].behaviour, "freeze");
    assert_eq!((file.rows[1].start, file.rows[1].end), (Time::Frame(10), Time::Frame(29)));
    let resolved = file.resolve(&LabelsConfig::default(), None, Some(10.0)).unwrap();
    assert_eq!(resolved.bouts.len(), 1, "freeze is freezing; `other` is left out: {resolved:?}");
    assert_eq!(resolved.unmapped_behaviours.get("other"), Some(&2));
}

#[test]
fn subjects_and_media_select_the_rows_of_one_animal_in_one_recording() {
    let Some(path) = common::formats("boris_aggregated/BORIS_tests_test_export_aggregated_events_test_full_1.tsv")
    else {
        return;
    };
    let file = LabelFile::read(&path, None).unwrap();
    let mut config = LabelsConfig::default();
    config.behaviours.insert("s".into(), chaperone::kinds::Behaviour::Freezing);
    config.subjects.insert("subject2".into(), chaperone::kinds::Role::Other);
    let video = Path::new("/elsewhere/video_test_25fps_360s.mp4");
    let resolved = file.resolve(&config, Some(video), None).unwrap();
    let rows_360 = file.rows.iter().filter(|r| r.media.as_deref() == Some("video_test_25fps_360s.mp4")).count();
    assert_eq!(resolved.other_media, file.rows.len() - rows_360, "{resolved:?}");
    let of_360 = |r: &&chaperone::labels::LabelRow| r.media.as_deref() == Some("video_test_25fps_360s.mp4");
    let kept = file.rows.iter().filter(of_360).filter(|r| r.behaviour == "s" && r.subject != "subject2").count();
    let of_subject2 = file.rows.iter().filter(of_360).filter(|r| r.behaviour == "s" && r.subject == "subject2").count();
    assert!(kept > 0 && of_subject2 > 0, "the file has both kinds of rows");
    assert_eq!(resolved.bouts.len(), kept, "{resolved:?}");
    assert_eq!(resolved.other_subjects.get("subject2"), Some(&of_subject2), "{resolved:?}");
    assert!(resolved.bouts.iter().all(|b| b.end_s >= b.start_s));
    // A recording the file does not label is named, with the media it does.
    let err = file.resolve(&config, Some(Path::new("other.mp4")), None).unwrap_err().to_string();
    assert!(err.contains("other.mp4") && err.contains("video_test_25fps_180s.mp4"), "{err}");
}

#[test]
fn foreign_truncated_and_binary_files_are_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(std::path::PathBuf, &str)> = Vec::new();
    if let Some(dlc) = common::formats("dlc_single/ethome_openfield_dlc_inference_example_m3v1mp4.csv") {
        cases.push((dlc, "not a label file"));
    }
    if let Some(h5) = common::formats("dlc_multi/deepof_testDLC_h5_table_madlc.h5") {
        cases.push((h5, "not a text file"));
    }
    if let Some(events) = common::formats("boris_events/ethome_e3v813a-20210610T120637-121213_reencode.csv") {
        // Cut after a START: the export ends mid-bout.
        let text = std::fs::read_to_string(&events).unwrap();
        let cut: Vec<&str> = text.lines().take(17).collect();
        let truncated = dir.path().join("truncated.csv");
        std::fs::write(&truncated, cut.join("\n")).unwrap();
        cases.push((truncated, "never stops"));
    }
    if let Some(aggregated) =
        common::formats("boris_aggregated/BORIS_tests_test_export_aggregated_events_test_full_1.tsv")
    {
        let text = std::fs::read_to_string(&aggregated).unwrap().replace("\tBehavior\t", "\tAction\t");
        let renamed = dir.path().join("renamed.tsv");
        std::fs::write(&renamed, text).unwrap();
        cases.push((renamed, "expected a `Behavior` column"));
    }
    for (path, expected) in cases {
        let run = common::chaperone(&["labels", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(stderr.contains(expected) && stderr.lines().count() == 1, "{}: {stderr}", path.display());
    }
}

/// The demo recording's human bouts written as a BORIS aggregated export (seconds, three decimals, as
/// BORIS writes them) and as a v7 events export (START/STOP rows).
fn demo_bouts_as_boris(bouts_csv: &Path, dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let bouts: Vec<(f64, f64)> = std::fs::read_to_string(bouts_csv)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_once(',')?;
            Some(((a.trim().parse::<f64>().ok()? - 1.0) / 50.0, (b.trim().parse::<f64>().ok()? - 1.0) / 50.0))
        })
        .collect();
    assert!(bouts.len() > 10, "the demo has its bouts");
    let aggregated = dir.join("demo1_aggregated.tsv");
    let mut text =
        "Observation id\tMedia file\tFPS\tSubject\tBehavior\tBehavior type\tStart (s)\tStop (s)\tDuration (s)\r\n"
            .to_string();
    for (a, b) in &bouts {
        text += &format!("demo1\tC:/lab/demo1.avi\t50.0\tmouse\tFreezing\tSTATE\t{a:.3}\t{b:.3}\t{:.3}\r\n", b - a);
    }
    std::fs::write(&aggregated, text).unwrap();
    let events = dir.join("demo1_events.csv");
    let mut text = "Observation id,demo1,,,,,,,\n,,,,,,,,\nTime offset (s),0.0,,,,,,,\n,,,,,,,,\n\
                    Time,Media file path,Total length,FPS,Subject,Behavior,Behavioral category,Comment,Status\n"
        .to_string();
    for (a, b) in &bouts {
        for (t, status) in [(a, "START"), (b, "STOP")] {
            text += &format!("{t:.3},C:/lab/demo1.avi,120.000,50.0,mouse,Freezing,,,{status}\n");
        }
    }
    std::fs::write(&events, text).unwrap();
    (aggregated, events)
}

#[test]
fn a_recording_scores_the_same_through_boris_exports_as_through_its_bouts_csv() {
    let (Some(tracks), Some(bouts)) = (
        common::media("freezing-labels/demo1_tracking.csv"),
        common::media("freezing-labels/demo1_freezing_bouts_1based.csv"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (aggregated, events) = demo_bouts_as_boris(&bouts, dir.path());
    let score = |labels: &Path| {
        let run = common::chaperone(&[
            "eval",
            "--json",
            "--fps",
            "50",
            "--recording",
            tracks.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
            "fixtures/scenarios/asleep.toml",
        ]);
        assert!(run.status.success(), "{}: {}", labels.display(), String::from_utf8_lossy(&run.stderr));
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let recording = report["labelled_recordings"][0].clone();
        let freezing = report["scenarios"]["behaviours"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["behaviour"] == "freezing")
            .cloned()
            .unwrap();
        (recording, freezing["true_intervals"].clone(), freezing["f1"].clone())
    };
    let through_csv = score(&bouts);
    assert_eq!(through_csv.0["behaviour"], "freezing");
    assert!(through_csv.0["f1"].as_f64().unwrap() > 0.8, "{:?}", through_csv);
    for labels in [&aggregated, &events] {
        assert_eq!(score(labels), through_csv, "{}", labels.display());
    }
}
