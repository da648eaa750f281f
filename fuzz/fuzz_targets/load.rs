//! Any text → the definition loader: it must return a definition or
//! diagnostics, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let (definition, diagnostics) = baton_asl::load::load_str(src);
        // A definition comes back only when no diagnostic is an error; either
        // way the diagnostics must be printable.
        if definition.is_none() {
            for d in &diagnostics {
                let _ = format!("{}: {} at {}", d.code, d.message, d.location);
            }
        }
    }
});
