//! What a stored module may be called.

/// Module names are 1 to 63 letters, digits, `_`, `-` and `.`, so `name:export` is unambiguous.
pub fn is_valid_module_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 63 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
