//! A denser text encoding than base64 for the page's payload: 7 bits per
//! character instead of 6, inside a double-quoted JavaScript string in an
//! inline `<script>`. Base64 adds 33 % to the compressed payload, this
//! about 15 %: several kB of an 80 kB ceiling.
//!
//! The bit stream (MSB first) is cut into 7-bit groups. A group becomes
//! the ASCII character of that value, except six values that cannot stand
//! in such a string as they are: NUL (HTML turns it into U+FFFD), LF and CR
//! (line ends; HTML also rewrites CR), `"` and `\` (string syntax) and `<`
//! (could end the script). Such a group and the next one travel together
//! as one character U+0100 + index·128 + next (two bytes in UTF-8). A
//! trailing escaped group has no successor and uses next = 0; the decoder
//! stops at the byte count it is given.

/// The values that cannot be sent as themselves, by escape index.
pub(crate) const ESCAPED: [u8; 6] = [0, b'\n', b'\r', b'"', b'\\', b'<'];

fn groups(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 8 / 7 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 7 {
            bits -= 7;
            out.push(((acc >> bits) & 0x7f) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(((acc << (7 - bits)) & 0x7f) as u8);
    }
    out
}

pub(crate) fn encode(data: &[u8]) -> String {
    let g = groups(data);
    let mut s = String::with_capacity(g.len() + g.len() / 16);
    let mut i = 0;
    while let Some(&v) = g.get(i) {
        match ESCAPED.iter().position(|&e| e == v) {
            None => s.push(char::from(v)),
            Some(idx) => {
                let next = g.get(i + 1).copied().unwrap_or(0);
                i += 1;
                // 0x100 + 5·128 + 127 = 0x3ff: always one UTF-16 unit.
                s.push(char::from_u32(0x100 + idx as u32 * 128 + u32::from(next)).unwrap_or('?'));
            }
        }
        i += 1;
    }
    s
}

/// The loader's algorithm, in Rust: the tests check the pair.
#[cfg(test)]
pub(crate) fn decode(s: &str, len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut put = |v: u32| {
        acc = (acc << 7) | v;
        bits += 7;
        if bits >= 8 {
            bits -= 8;
            if out.len() < len {
                out.push((acc >> bits) as u8);
            }
            acc &= (1 << bits) - 1;
        }
    };
    for c in s.chars() {
        let c = c as u32;
        if c < 0x80 {
            put(c);
        } else {
            let c = c.checked_sub(0x100)?;
            put(u32::from(*ESCAPED.get((c >> 7) as usize)?));
            put(c & 0x7f);
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_and_every_byte() {
        let mut data: Vec<u8> = (0..=255u8).collect();
        data.extend((0..3000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        for len in (0..40).chain([255, 256, 1000, data.len()]) {
            let d = &data[..len];
            let s = encode(d);
            assert_eq!(decode(&s, len).as_deref(), Some(d), "length {len}");
            for bad in ['\0', '\n', '\r', '"', '\\', '<'] {
                assert!(!s.contains(bad), "length {len} has {bad:?}");
            }
            assert!(s.chars().all(|c| (c as u32) < 0x400), "one UTF-16 unit, two UTF-8 bytes at most");
        }
    }

    #[test]
    fn denser_than_base64_on_random_bytes() {
        let data: Vec<u8> = (0..40_000u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
        let bytes = encode(&data).len(); // UTF-8 bytes in the page
        assert!(bytes * 100 < data.len() * 118, "{bytes} bytes for {} (base64: {})", data.len(), data.len() * 4 / 3);
    }
}
