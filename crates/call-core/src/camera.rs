//! Which camera the "switch camera" button picks.
//!
//! A phone's camera says which way it faces (`facingMode`): the switch
//! then asks for the camera facing the other way, whatever the devices
//! are called. Elsewhere (laptops, USB cameras) it steps to the next
//! camera in the device list, wrapping around.

/// The facing to ask for instead of `current` (`None`: the camera does
/// not say; step through the list with [`after`]).
pub fn other_facing(current: Option<&str>) -> Option<&'static str> {
    match current? {
        "user" => Some("environment"),
        "environment" => Some("user"),
        _ => None,
    }
}

/// The camera after `current` in `cameras` (the first one if `current`
/// is not listed); `None` with fewer than two cameras.
pub fn after<'a>(cameras: &[&'a str], current: Option<&str>) -> Option<&'a str> {
    if cameras.len() < 2 {
        return None;
    }
    let at = cameras.iter().position(|id| Some(*id) == current);
    cameras.get(at.map_or(0, |i| (i + 1) % cameras.len())).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facing_flips_and_unknown_facings_fall_back_to_the_list() {
        assert_eq!(other_facing(Some("user")), Some("environment"));
        assert_eq!(other_facing(Some("environment")), Some("user"));
        assert_eq!(other_facing(Some("left")), None);
        assert_eq!(other_facing(None), None);
    }

    #[test]
    fn steps_through_the_cameras() {
        assert_eq!(after(&["a", "b", "c"], Some("a")), Some("b"));
        assert_eq!(after(&["a", "b", "c"], Some("c")), Some("a"), "wraps");
        assert_eq!(after(&["a", "b"], Some("gone")), Some("a"), "an unknown current: the first");
        assert_eq!(after(&["a", "b"], None), Some("a"));
        assert_eq!(after(&["a"], Some("a")), None, "one camera: nothing to switch to");
        assert_eq!(after(&[], None), None);
    }
}
