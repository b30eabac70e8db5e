//! The call state machine (`machine::Call`) on libFuzzer's bytes: the
//! generator of hostile input sequences and the simulated shell that
//! checks every step are `tests/common/drive.rs` (included by
//! `src/lib.rs`), the same the property tests in `tests/machine.rs` run
//! on seeded streams. Its module doc lists the properties: the invariants
//! shared with the state-machine tests (`tests/common/invariants.rs`),
//! no panic, privacy before consent, only well-formed SDPs and channel
//! messages, the caller/callee roles on channel 5, bounded restarts,
//! renegotiations sent, servers valid for Chromium, and (shell mode) no
//! call stuck once its input ends.
//!
//! The first byte picks the mode ("shell": only what the browser can
//! feed; "free": anything at any time), then at most 200 steps.
//! `CALL_FUZZ_TRACE=1 <binary> <input file>` prints the inputs and effects.
#![no_main]

use call_core_fuzz::drive::{call, Entropy, Stats};
use libfuzzer_sys::fuzz_target;

const MAX_STEPS: usize = 200;

fuzz_target!(|data: &[u8]| {
    call(&mut Entropy::from_bytes(data), MAX_STEPS, false, "fuzz input", &mut Stats::default());
});
