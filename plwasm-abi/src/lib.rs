//! The contract between plwasm (the host) and its guests, in one dependency-free crate that both sides
//! build from, so that the two cannot drift. docs/abi.md describes it for people writing guests by hand.
#![no_std]

extern crate alloc;

pub mod encoding;
pub mod names;
pub mod signature;
pub mod types;

/// The version of the guest ABI this crate describes. A guest states the version it was built for in a
/// custom section named [`names::ABI_SECTION`] holding the version as ASCII digits.
pub const ABI_VERSION: u32 = 1;

/// [`ABI_VERSION`] as the ASCII digits a guest puts in its `plwasm.abi` section.
pub const ABI_VERSION_TEXT: [u8; 1] = *b"1";

/// Whether the contents of a guest's `plwasm.abi` section state the version this crate describes.
pub fn states_this_version(section: &[u8]) -> bool {
    core::str::from_utf8(section).ok().and_then(|s| s.trim().parse::<u32>().ok()) == Some(ABI_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_text_is_the_version() {
        assert!(states_this_version(&ABI_VERSION_TEXT));
        assert!(states_this_version(b" 1\n"));
        assert!(!states_this_version(b"2"));
        assert!(!states_this_version(b"one"));
        assert!(!states_this_version(&[0xff]));
    }
}
