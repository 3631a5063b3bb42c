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
    let core = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../core/src"));
    for path in portaal_tests::files_under(core) {
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

/// The top-level modules of a crate's `src` and the modules each one names (`crate::x`), outside
/// comments and test modules.
fn module_graph(
    src: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
    let mut graph = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let files = if path.is_dir() {
            portaal_tests::files_under(&path)
        } else {
            vec![path.clone()]
        };
        let sources: Vec<String> = files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        let mut named = std::collections::BTreeSet::new();
        for text in &sources {
            let code = text.split("#[cfg(test)]").next().unwrap();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + "crate::".len()..];
                    let words: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                        group
                            .split('}')
                            .next()
                            .unwrap()
                            .split(',')
                            .map(|w| w.trim().split("::").next().unwrap())
                            .collect()
                    } else {
                        vec![
                            rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                                .next()
                                .unwrap(),
                        ]
                    };
                    named.extend(words.into_iter().map(str::to_owned));
                }
            }
        }
        named.remove(&name);
        graph.insert(name, named);
    }
    let modules: std::collections::BTreeSet<String> = graph.keys().cloned().collect();
    for named in graph.values_mut() {
        named.retain(|m| modules.contains(m));
    }
    graph
}

/// A cycle among the modules, if there is one.
fn cycle(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut found = path[at..].to_vec();
            found.push(m.to_owned());
            return Some(found);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for next in &graph[m] {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for src in ["../core/src", "../infra/src", "../functions/portal/src"] {
        let graph = module_graph(src);
        assert!(graph.len() > 5, "{src}: {graph:?}");
        if let Some(found) = cycle(&graph) {
            panic!("{src}: an import cycle: {}", found.join(" → "));
        }
    }
    let infra = module_graph("../infra/src");
    assert!(
        !infra["aws"].contains("embedded"),
        "the AWS adapters do not import the embedded ones"
    );
}
