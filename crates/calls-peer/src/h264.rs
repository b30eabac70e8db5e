//! The video of `--media pattern`: colour bars and a moving block, encoded
//! as H.264 without an encoder. Every frame is an IDR picture whose
//! macroblocks are all `I_PCM` (raw samples), which needs only the bit
//! syntax of the standard (Exp-Golomb codes, no entropy tables):
//! Constrained Baseline, CAVLC, 4:2:0, 8 bit. Big (384 bytes per
//! macroblock) but decodable by every H.264 decoder.

/// Picture size: 10 × 6 macroblocks.
pub const WIDTH: usize = 160;
pub const HEIGHT: usize = 96;
/// `profile-level-id` of the stream: Constrained Baseline, level 3.1.
pub const PROFILE_LEVEL_ID: u32 = 0x42e01f;

/// An RBSP being written bit by bit.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    cur: u8,
    n: u8,
}

impl Bits {
    fn bit(&mut self, b: bool) {
        self.cur = (self.cur << 1) | u8::from(b);
        self.n += 1;
        if self.n == 8 {
            self.out.push(self.cur);
            self.cur = 0;
            self.n = 0;
        }
    }

    fn bits(&mut self, v: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }

    /// ue(v): Exp-Golomb.
    fn ue(&mut self, v: u32) {
        let x = u64::from(v) + 1;
        let len = 64 - x.leading_zeros(); // bits of x
        for _ in 1..len {
            self.bit(false);
        }
        for i in (0..len).rev() {
            self.bit((x >> i) & 1 == 1);
        }
    }

    /// se(v): signed Exp-Golomb.
    fn se(&mut self, v: i32) {
        let k = if v > 0 {
            2 * v.unsigned_abs() - 1
        } else {
            2 * v.unsigned_abs()
        };
        self.ue(k);
    }

    fn align_zero(&mut self) {
        while self.n != 0 {
            self.bit(false);
        }
    }

    /// rbsp_trailing_bits: a one, then zeros to the byte boundary.
    fn trailing(mut self) -> Vec<u8> {
        self.bit(true);
        self.align_zero();
        self.out
    }
}

/// Appends a NAL unit with a 4-byte start code, escaping the RBSP
/// (emulation prevention: `00 00 0x` with x ≤ 3 gets an `03` in between).
fn nal(out: &mut Vec<u8>, ref_idc: u8, typ: u8, rbsp: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1, (ref_idc << 5) | typ]);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

fn sps() -> Vec<u8> {
    let mut b = Bits::default();
    b.bits(66, 8); // profile_idc: Baseline
    b.bits(0b1110_0000, 8); // constraint_set0..2 (Constrained Baseline), reserved
    b.bits(31, 8); // level_idc 3.1
    b.ue(0); // seq_parameter_set_id
    b.ue(0); // log2_max_frame_num_minus4
    b.ue(2); // pic_order_cnt_type: output order = decoding order
    b.ue(1); // max_num_ref_frames
    b.bit(false); // gaps_in_frame_num_value_allowed_flag
    b.ue((WIDTH / 16 - 1) as u32);
    b.ue((HEIGHT / 16 - 1) as u32);
    b.bit(true); // frame_mbs_only_flag
    b.bit(true); // direct_8x8_inference_flag
    b.bit(false); // frame_cropping_flag
    b.bit(false); // vui_parameters_present_flag
    b.trailing()
}

fn pps() -> Vec<u8> {
    let mut b = Bits::default();
    b.ue(0); // pic_parameter_set_id
    b.ue(0); // seq_parameter_set_id
    b.bit(false); // entropy_coding_mode_flag: CAVLC
    b.bit(false); // bottom_field_pic_order_in_frame_present_flag
    b.ue(0); // num_slice_groups_minus1
    b.ue(0); // num_ref_idx_l0_default_active_minus1
    b.ue(0); // num_ref_idx_l1_default_active_minus1
    b.bit(false); // weighted_pred_flag
    b.bits(0, 2); // weighted_bipred_idc
    b.se(0); // pic_init_qp_minus26
    b.se(0); // pic_init_qs_minus26
    b.se(0); // chroma_qp_index_offset
    b.bit(false); // deblocking_filter_control_present_flag
    b.bit(false); // constrained_intra_pred_flag
    b.bit(false); // redundant_pic_cnt_present_flag
    b.trailing()
}

/// One IDR slice of I_PCM macroblocks from planar 4:2:0 samples.
fn idr_slice(idr_pic_id: u32, y: &[u8], u: &[u8], v: &[u8]) -> Vec<u8> {
    let mut b = Bits::default();
    b.ue(0); // first_mb_in_slice
    b.ue(7); // slice_type: I (all slices of the picture)
    b.ue(0); // pic_parameter_set_id
    b.bits(0, 4); // frame_num (0 in an IDR picture)
    b.ue(idr_pic_id); // differs between consecutive IDR pictures
    b.bit(false); // dec_ref_pic_marking: no_output_of_prior_pics_flag
    b.bit(false); // long_term_reference_flag
    b.se(0); // slice_qp_delta
    let (cw, mbs_x, mbs_y) = (WIDTH / 2, WIDTH / 16, HEIGHT / 16);
    for my in 0..mbs_y {
        for mx in 0..mbs_x {
            b.ue(25); // mb_type I_PCM (in an I slice)
            b.align_zero(); // pcm_alignment_zero_bit
            for row in 0..16 {
                let at = (my * 16 + row) * WIDTH + mx * 16;
                b.out.extend_from_slice(&y[at..at + 16]);
            }
            for plane in [u, v] {
                for row in 0..8 {
                    let at = (my * 8 + row) * cw + mx * 8;
                    b.out.extend_from_slice(&plane[at..at + 8]);
                }
            }
        }
    }
    b.trailing()
}

/// BT.601 limited-range Y, Cb, Cr of the classic eight bars.
const BARS: [(u8, u8, u8); 8] = [
    (235, 128, 128), // white
    (210, 16, 146),  // yellow
    (170, 166, 16),  // cyan
    (145, 54, 34),   // green
    (106, 202, 222), // magenta
    (81, 90, 240),   // red
    (41, 240, 110),  // blue
    (16, 128, 128),  // black
];

/// The test picture for frame `n`: bars on top, a grey ramp below with a
/// white block that moves one step per frame.
pub fn picture(n: u64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (w, h) = (WIDTH, HEIGHT);
    let mut y = vec![0u8; w * h];
    let mut u = vec![128u8; w * h / 4];
    let mut v = vec![128u8; w * h / 4];
    let bars_h = h * 2 / 3;
    let block_x = (n as usize * 4) % (w - 16);
    for row in 0..h {
        for col in 0..w {
            let (yy, cb, cr) = if row < bars_h {
                BARS[col * BARS.len() / w]
            } else if (block_x..block_x + 16).contains(&col) && row >= bars_h + 8 && row < bars_h + 24 {
                (235, 128, 128)
            } else {
                (16 + (col * 200 / w) as u8, 128, 128)
            };
            y[row * w + col] = yy;
            if row % 2 == 0 && col % 2 == 0 {
                u[(row / 2) * (w / 2) + col / 2] = cb;
                v[(row / 2) * (w / 2) + col / 2] = cr;
            }
        }
    }
    (y, u, v)
}

/// Frame `n` of the pattern as an Annex B access unit: SPS, PPS, IDR.
pub fn frame(n: u64) -> Vec<u8> {
    let (y, u, v) = picture(n);
    let mut out = Vec::with_capacity(WIDTH * HEIGHT * 3 / 2 + 2 * (WIDTH / 16) * (HEIGHT / 16) + 64);
    nal(&mut out, 3, 7, &sps());
    nal(&mut out, 3, 8, &pps());
    nal(&mut out, 3, 5, &idr_slice((n % 2) as u32, &y, &u, &v));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Bits)) -> String {
        let mut b = Bits::default();
        f(&mut b);
        let n = b.n;
        let cur = b.cur;
        let mut s: String = b.out.iter().map(|x| format!("{x:08b}")).collect();
        if n > 0 {
            s.push_str(&format!("{cur:0w$b}", w = n as usize));
        }
        s
    }

    #[test]
    fn exp_golomb() {
        assert_eq!(written(|b| b.ue(0)), "1");
        assert_eq!(written(|b| b.ue(1)), "010");
        assert_eq!(written(|b| b.ue(2)), "011");
        assert_eq!(written(|b| b.ue(3)), "00100");
        assert_eq!(written(|b| b.ue(25)), "000011010");
        assert_eq!(written(|b| b.se(1)), "010");
        assert_eq!(written(|b| b.se(-1)), "011");
        assert_eq!(written(|b| b.se(0)), "1");
    }

    #[test]
    fn emulation_prevention() {
        let mut out = Vec::new();
        nal(&mut out, 3, 5, &[0, 0, 1, 0, 0, 0, 0, 0, 3, 5]);
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 0, 3, 5]);
    }

    #[test]
    fn sps_bytes() {
        // 42 e0 1f, then ue(0) ue(0) ue(2) ue(1) 0 ue(9) ue(5) 1 1 0 0 + stop bit
        let s = sps();
        assert_eq!(&s[..3], &[0x42, 0xe0, 0x1f]);
        let bits: String = s[3..].iter().map(|x| format!("{x:08b}")).collect();
        assert!(bits.starts_with("11011010000010100011011001"), "{bits}");
    }

    #[test]
    fn frame_layout() {
        let f = frame(3);
        assert_eq!(&f[..5], &[0, 0, 0, 1, 0x67]);
        let starts: Vec<usize> = (0..f.len() - 4).filter(|&i| f[i..i + 4] == [0, 0, 0, 1]).collect();
        assert_eq!(
            starts.len(),
            3,
            "exactly three NAL units, no start code inside the samples"
        );
        assert_eq!(f[starts[1] + 4], 0x68);
        assert_eq!(f[starts[2] + 4], 0x65);
        let mbs = (WIDTH / 16) * (HEIGHT / 16);
        assert!(f.len() > mbs * 384 && f.len() < mbs * 400);
        // the picture moves
        assert_ne!(picture(0).0, picture(1).0);
    }
}
