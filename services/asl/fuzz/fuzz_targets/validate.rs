//! Any text: `validate` returns diagnostics and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchback_asl::{MachineType, ValidateOptions, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Express machines take extra checks; the length's parity picks the type.
    let machine_type = if text.len() % 2 == 0 {
        MachineType::Standard
    } else {
        MachineType::Express
    };
    let _ = validate(text, &ValidateOptions { machine_type });
});
