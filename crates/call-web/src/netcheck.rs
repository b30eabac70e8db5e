//! After `disconnected`: does our end of the path still have its address?
//! A desktop browser tells a page nothing when an address changes, but a
//! fresh gathering lists the addresses the device has now. If ours is not
//! among them, the path cannot come back by itself (`Input::AddressGone`).

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use call_core::Input;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RtcConfiguration, RtcDataChannelInit, RtcPeerConnection, RtcPeerConnectionIceEvent};

use crate::event::input;
use crate::js::{after, cb, get_str, then};

/// `local`: the stats of our candidate in the selected pair.
pub(crate) fn check(local: &JsValue) {
    let (typ, address, related) =
        (get_str(local, "candidateType"), get_str(local, "address"), get_str(local, "relatedAddress"));
    let ours = call_core::ice::path_address(typ.as_deref().unwrap_or(""), address.as_deref(), related.as_deref());
    let Some(ours) = ours.map(String::from) else { return };
    let Ok(pc) = RtcPeerConnection::new_with_configuration(&RtcConfiguration::new()) else { return };
    let found: Rc<RefCell<Vec<String>>> = Rc::default();
    let found2 = found.clone();
    pc.set_onicecandidate(Some(&cb(move |v: JsValue| {
        let e: RtcPeerConnectionIceEvent = v.unchecked_into();
        if let (Some(c), Ok(mut f)) = (e.candidate(), found2.try_borrow_mut()) {
            if let Some(a) = call_core::ice::host_address(&c.candidate()) {
                f.push(a.into());
            }
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
        let Ok(now) = found.try_borrow() else { return };
        if call_core::ice::address_gone(&ours, &now) {
            input(Input::AddressGone);
        }
    });
}
