//! Which promlab this is: the crate's version and the git revision it was built from (see `build.rs`),
//! as `promlab --version`, every server's `promlab_build_info` and their pages show it.

/// The crate's version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision built from, e.g. `5214b20a9c3f`, or `unknown`.
pub const REVISION: &str = env!("PROMLAB_REVISION");

/// `VERSION (REVISION)`, what `promlab --version` prints after the name.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("PROMLAB_REVISION"),
    ")"
);

/// The labels of every server's `promlab_build_info`.
pub const LABELS: [(&str, &str); 2] = [("version", VERSION), ("revision", REVISION)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_version_names_the_crate_version_and_a_revision() {
        assert_eq!(LONG, format!("{VERSION} ({REVISION})"));
        assert!(!REVISION.is_empty());
        assert!(VERSION.split('.').count() == 3, "{VERSION}");
    }
}
