//! Delta Touch runs the page in QtWebEngine 5.15, which is Chromium 87.
//! Its WebAssembly has what the MVP has plus mutable globals, sign
//! extension, non-trapping float-to-int, bulk memory and multi-value; it
//! has no reference types (Chromium 96), SIMD (91), tail calls, threads or
//! exceptions. A module using any of those fails to compile there, so the
//! final module is validated against exactly this set.

use wasmparser::{Validator, WasmFeatures};

pub(crate) fn chromium_87() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::FLOATS
}

pub(crate) fn validate_for_chromium_87(wasm: &[u8]) -> crate::Result {
    Validator::new_with_features(chromium_87())
        .validate_all(wasm)
        .map(|_| ())
        .map_err(|e| format!("the module needs a WebAssembly feature Chromium 87 lacks: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // (module (func (result externref) ref.null extern))
    const REFERENCE_TYPES: &[u8] = &[
        0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 111, 3, 2, 1, 0, 10, 6, 1, 4, 0, 208, 111, 11,
    ];
    // (module (func (param i32) (result i32) local.get 0 i32.extend8_s))
    const SIGN_EXT: &[u8] = &[
        0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 10, 7, 1, 5, 0, 32, 0, 192, 11,
    ];

    #[test]
    fn refuses_reference_types_and_accepts_sign_extension() {
        assert!(validate_for_chromium_87(REFERENCE_TYPES).is_err());
        assert!(validate_for_chromium_87(SIGN_EXT).is_ok());
    }
}
