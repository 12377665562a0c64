//! What a stored module may be called.

/// Module names are 1 to 63 letters, digits, `_`, `-` and `.`, so `name:export` is unambiguous.
pub fn is_valid_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::is_valid_module_name;

    #[test]
    fn module_names_are_short_ascii_words_without_colons() {
        for good in ["timeseries", "a", "v1.2-beta_3", &"x".repeat(63)] {
            assert!(is_valid_module_name(good), "{good}");
        }
        for bad in ["", "a:b", "with space", "ünïcode", &"x".repeat(64), "semi;colon", "(module"] {
            assert!(!is_valid_module_name(bad), "{bad}");
        }
    }
}
