#![no_main]
//! See `agentpack_fuzz::policy_text`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: agentpack_fuzz::install_panic_hook(true),
    |data: &[u8]| agentpack_fuzz::policy_text(data)
);
