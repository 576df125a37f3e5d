#![no_main]
//! See `agentpack_fuzz::mst_read`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: agentpack_fuzz::install_panic_hook(true),
    |data: &[u8]| agentpack_fuzz::mst_read(data)
);
