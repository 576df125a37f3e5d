#![no_main]
//! See `agentpack_fuzz::import_args`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: agentpack_fuzz::install_panic_hook(true),
    |data: &[u8]| agentpack_fuzz::import_args(data)
);
