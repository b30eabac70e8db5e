//! The ring-back tone the caller hears while the callee's phone rings:
//! 425 Hz, 1 s on, 4 s off, for as many cadences as a call rings (the
//! constants are the core's). It plays while the view says `ringback`
//! (which also sets `data-ringback`, in `dom`).

use call_core::params::{RINGBACK_CYCLES, RINGBACK_GAIN, RINGBACK_HZ, RINGBACK_OFF_MS, RINGBACK_ON_MS};
use web_sys::{AudioContext, OscillatorType};

#[derive(Default)]
pub(crate) struct Tone {
    ctx: Option<AudioContext>,
}

impl Tone {
    pub(crate) fn set(&mut self, on: bool) {
        match (on, self.ctx.is_some()) {
            (true, false) => self.ctx = start(),
            (false, true) => {
                if let Some(ctx) = self.ctx.take() {
                    let _ = ctx.close();
                }
            }
            _ => {}
        }
    }
}

/// Schedules the whole cadence on the audio clock: no timers, no drift.
fn start() -> Option<AudioContext> {
    let ctx = AudioContext::new().ok()?;
    let osc = ctx.create_oscillator().ok()?;
    osc.set_type(OscillatorType::Sine);
    osc.frequency().set_value(RINGBACK_HZ);
    let gain = ctx.create_gain().ok()?;
    let g = gain.gain();
    g.set_value(0.0);
    let t0 = ctx.current_time() + 0.05;
    let on = RINGBACK_ON_MS as f64 / 1000.0;
    let period = on + RINGBACK_OFF_MS as f64 / 1000.0;
    for i in 0..RINGBACK_CYCLES {
        let t = t0 + i as f64 * period;
        let _ = g.set_value_at_time(RINGBACK_GAIN, t);
        let _ = g.set_value_at_time(0.0, t + on);
    }
    osc.connect_with_audio_node(&gain).ok()?;
    gain.connect_with_audio_node(&ctx.destination()).ok()?;
    osc.start().ok()?;
    // A context created without a user gesture may start suspended.
    let _ = ctx.resume();
    Some(ctx)
}
