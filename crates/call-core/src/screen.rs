//! What the screen shows: [`Call::view`] derives the [`View`] from the
//! call's state, nothing else, and [`Call::extras`] what goes beside it.

use crate::machine::Call;
use crate::stage::{Outcome, Over, Stage};
use crate::text::Msg;
use crate::view::{Dev, Extras, Phase, View};
use crate::vocab::{Route, VideoSource};

impl Call {
    /// What the page shows beside the view now.
    pub fn extras(&self) -> Extras {
        let v = self.view();
        let live = matches!(v.phase, Phase::Connecting | Phase::Ringing | Phase::InCall | Phase::Reconnecting);
        let preview = match (live, self.local.sharing(), v.cam) {
            (false, _, _) => VideoSource::Nothing,
            (true, true, _) => VideoSource::Screen,
            (true, false, Dev::On) => VideoSource::Camera,
            (true, false, _) => VideoSource::Nothing,
        };
        Extras {
            preview,
            pip: v.remote_video && self.local.can_pip(),
            help: self.local.help_open(),
            speaker: self.local.can_pick_speaker(),
        }
    }

    /// What the screen shows now.
    pub fn view(&self) -> View {
        let p = self.phase();
        let live = matches!(p, Phase::Connecting | Phase::Ringing | Phase::InCall | Phase::Reconnecting);
        let live_stage = match &self.stage {
            Stage::Live(l) => Some(l),
            _ => None,
        };
        let in_call = live_stage.is_some();
        let link = self.link_ref();
        let (status, notice) = match &self.stage {
            Stage::Over(Over { outcome: Outcome::Ended(why), .. }) => (Some(*why), None),
            Stage::Over(Over { outcome: Outcome::Failed { why, .. }, .. }) => (Some(Msg::CallFailed), Some(*why)),
            // The status says it; the notice's "ignored" would only confuse.
            Stage::NotReceived => (Some(Msg::CallNotReceived), None),
            _ => {
                let status = match p {
                    Phase::Incoming => Some(Msg::IncomingCall),
                    Phase::Connecting => Some(Msg::Connecting),
                    Phase::Ringing => Some(Msg::Ringing),
                    Phase::Reconnecting => Some(Msg::Reconnecting),
                    _ => None,
                };
                // "No relay server; trying a direct connection" is about
                // connecting: not yet news while the person decides
                // whether to answer, and old news once the call is up (it
                // comes back if the call has to reconnect).
                let about_connecting = matches!(self.notice, Some(Msg::IceServersUnavailable | Msg::SomeIceServersIgnored));
                let notice = if about_connecting && matches!(p, Phase::Incoming | Phase::InCall) { None } else { self.notice };
                // Video paused for the path, ours or the peer's: both
                // screens say why the picture stopped.
                let paused = self.video_paused() || link.and_then(|l| l.remote_muted).is_some_and(|m| m.video_paused);
                (status, notice.or((p == Phase::InCall && paused).then_some(Msg::VideoPaused)))
            }
        };
        let video_allowed = self.flags.video_allowed();
        let remote_muted = link.and_then(|l| l.remote_muted);
        let remote_video = in_call
            && video_allowed
            && link.is_some_and(|l| l.remote_video)
            && remote_muted.is_none_or(|m| m.video_enabled);
        let quality = live_stage.and_then(|l| l.quality);
        let prompt = p == Phase::Incoming;
        // On the prompt the toggles show the person's choice, in the call
        // what the capture does.
        let (mic, cam) =
            if prompt { self.local.prompt_controls(video_allowed) } else { (self.local.mic(), self.local.cam()) };
        View {
            phase: p,
            status,
            notice,
            answer: p == Phase::Incoming,
            end: p != Phase::Idle && notice != Some(Msg::NoHost),
            mic: if live || prompt { mic } else { Dev::None },
            cam: if prompt || (live && self.local.cam_available(video_allowed)) { cam } else { Dev::None },
            remote_video,
            remote_mic: remote_muted.map(|m| m.audio_enabled),
            avatar: matches!(p, Phase::Incoming | Phase::NotReceived | Phase::Ringing | Phase::Connecting)
                || (in_call && !remote_video),
            route: live_stage.map_or(Route::Unknown, |l| l.link.route),
            quality,
            details: live_stage.is_some_and(|l| l.details) && quality.is_some(),
            screen: match (self.screen_available(), self.local.sharing()) {
                (false, _) => Dev::None,
                (true, true) => Dev::On,
                (true, false) => Dev::Off,
            },
            ringback: p == Phase::Ringing,
            clock: live_stage.map(|l| l.connected_at),
            devices: live && self.local.devices_open(),
            // Not on the prompt: nothing is captured there.
            switch_camera: !prompt && self.local.cameras() >= 2,
            end_label: match p {
                Phase::Incoming => Msg::Decline,
                Phase::NotReceived => Msg::Close,
                _ => Msg::EndCall,
            },
            mic_label: if mic == Dev::On { Msg::MuteMic } else { Msg::UnmuteMic },
            cam_label: if cam == Dev::On { Msg::CameraOff } else { Msg::CameraOn },
            hold: matches!(&self.stage, Stage::Setup(s) if s.hold().is_some()),
        }
    }
}
