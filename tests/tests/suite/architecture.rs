//! `core` holds the use cases and must stay free of storage, file-system and cloud types, so the
//! AWS adapters come without touching it.

#[test]
fn core_depends_on_no_sqlite_file_system_or_aws_crate() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../core/Cargo.toml"))
            .unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for forbidden in [
        "rusqlite", "aws-", "tokio", "axum", "lambda", "reqwest", "hyper",
    ] {
        assert!(
            !deps.contains(forbidden),
            "core must not depend on {forbidden}"
        );
    }
}

#[test]
fn core_sources_use_no_file_system_or_network() {
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/src"
    ))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for forbidden in ["std::fs", "std::net", "tokio::", "rusqlite", "aws_sdk"] {
                assert!(
                    !text.contains(forbidden),
                    "{} uses {forbidden}",
                    path.display()
                );
            }
        }
    }
}
