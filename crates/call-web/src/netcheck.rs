//! After `disconnected`: which addresses does the device have now? A
//! desktop browser tells a page nothing when an address changes, but a
//! fresh gathering lists the addresses the device has now. The core
//! compares them with our end of the path (`Input::AddressesFound`).

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use call_core::Input;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RtcConfiguration, RtcDataChannelInit, RtcPeerConnection, RtcPeerConnectionIceEvent};

use crate::event::input;
use crate::js::{after, cb, then};

/// Gathers on a throwaway connection for `call_core::ice::ADDRESS_PROBE_MS`
/// and reports the candidate lines found, with `ours` (`ProbeAddresses`).
pub(crate) fn probe(ours: String) {
    let Ok(pc) = RtcPeerConnection::new_with_configuration(&RtcConfiguration::new()) else { return };
    let found: Rc<RefCell<Vec<String>>> = Rc::default();
    let found2 = found.clone();
    pc.set_onicecandidate(Some(&cb(move |v: JsValue| {
        let e: RtcPeerConnectionIceEvent = v.unchecked_into();
        if let (Some(c), Ok(mut f)) = (e.candidate(), found2.try_borrow_mut()) {
            f.push(c.candidate());
        }
    })));
    // Something to gather for: one data channel.
    let _ = pc.create_data_channel_with_data_channel_dict("probe", &RtcDataChannelInit::new());
    let pc2 = pc.clone();
    then(&pc.create_offer(), move |r| {
        if let Ok(offer) = r {
            let _ = pc2.set_local_description(offer.unchecked_ref());
        }
    });
    after(call_core::ice::ADDRESS_PROBE_MS, move || {
        pc.close();
        let found = found.try_borrow_mut().map(|mut f| core::mem::take(&mut *f)).unwrap_or_default();
        input(Input::AddressesFound { ours, found });
    });
}
