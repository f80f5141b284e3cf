//! What keeps the first build short (issue 16, bench/README.md "First run"): no crate that
//! compiles a C crypto library with cmake comes back through a dependency's default features.

#[test]
fn no_dependency_brings_back_a_c_crypto_library() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("Cargo.lock");
    for name in ["aws-lc-sys", "aws-lc-rs", "openssl-sys"] {
        assert!(
            !lock.contains(&format!("name = \"{name}\"")),
            "{name} is in Cargo.lock (`cargo tree -i {name}` names who brings it): ring is the \
             crypto provider, see ARCHITECTURE.md"
        );
    }
}
