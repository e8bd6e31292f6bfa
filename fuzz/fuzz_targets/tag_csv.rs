//! A tag list file as a depot manager could import one (any bytes, read as UTF-8 text the way the
//! console's upload is): read line by line as the import and its preview read it. Reading must
//! not panic; every line it reports carries its line number and either fields or a problem.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(lines) = chargeyard_core::tags::parse_tag_csv(&text) {
        for l in &lines {
            assert!(
                l.line > 0,
                "a line number is counted from 1: {:?}",
                l.id_tag
            );
            if let Err(problem) = &l.read {
                assert!(!problem.is_empty(), "a problem is said");
            }
        }
    }
});
