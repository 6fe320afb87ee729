//! The shape of the source tree, kept by tests rather than by memory: layers point one way
//! (nothing below `src/cmd/` imports `crate::cmd`, no cycle between top-level modules), clap
//! stays in `cli.rs` and `cmd/`, only `Root` and `Runner` (and the plumbing that builds them)
//! know `--dry-run`, every module starts with a `//!` line, and no function runs over 150
//! lines without a comment saying why. (The raw file and process calls are kept to `Root` and
//! `Runner` by clippy's `disallowed-methods`, see clippy.toml.)
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
/// Functions longer than this need a `// Long:` comment above them saying why.
const LONG_FN: usize = 150;

fn sources() -> Vec<(PathBuf, String)> {
    walkdir::WalkDir::new(SRC)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            let rel = e.path().strip_prefix(SRC).unwrap().to_path_buf();
            (rel, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect()
}

/// The top-level module a file belongs to: `cmd` for `cmd/init.rs`, `root` for `root.rs`.
fn top(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code without its unit tests (they may reach anywhere).
fn non_test(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap()
}

/// Every top-level module a piece of code names as `crate::X`, also inside `use crate::{…}`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let word = regex::Regex::new(r"crate::([a-z_][a-z0-9_]*)").unwrap();
    let group = regex::Regex::new(r"(?s)use crate::\{(.*?)\};").unwrap();
    let head = regex::Regex::new(r"(?:^|[,{\s])([a-z_][a-z0-9_]*)(?:::|\s*,|\s*\}|\s*$)").unwrap();
    let mut out: BTreeSet<String> = word.captures_iter(code).map(|c| c[1].to_string()).collect();
    for g in group.captures_iter(code) {
        // Only the first segment of each path in the group is a top-level module.
        let mut depth = 0;
        let mut item = String::new();
        let mut items = Vec::new();
        for ch in g[1].chars() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                _ => {}
            }
            if !(ch == ',' && depth == 0) {
                item.push(ch);
            }
        }
        items.push(item);
        for it in items {
            if let Some(c) = head.captures(it.trim()) {
                out.insert(c[1].to_string());
            }
        }
    }
    out
}

#[test]
fn nothing_below_cmd_imports_cmd() {
    let mut offenders = Vec::new();
    for (rel, text) in sources() {
        let allowed =
            rel.starts_with("cmd") || rel == Path::new("main.rs") || rel == Path::new("lib.rs");
        if !allowed && text.contains("crate::cmd") {
            offenders.push(rel.display().to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "crate::cmd used below cmd/: {offenders:?}"
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in sources() {
        let from = top(&rel);
        if from == "main" || from == "lib" {
            continue;
        }
        let refs = crate_refs(non_test(&text));
        graph
            .entry(from.clone())
            .or_default()
            .extend(refs.into_iter().filter(|r| *r != from));
    }
    // Depth-first search for a back edge; report the cycle it closes.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, &graph, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}\ngraph: {graph:#?}", c.join(" -> "));
        }
    }
    // The layers the architecture names: commands on top, the lab above serve, domain below.
    for (low, high) in [
        ("serve", "lab"),
        ("apply", "cmd"),
        ("doctor", "cmd"),
        ("root", "apply"),
    ] {
        assert!(
            !graph.get(low).is_some_and(|s| s.contains(high)),
            "{low} must not use {high}"
        );
    }
}

#[test]
fn clap_stays_in_cli_and_cmd() {
    let mut offenders = Vec::new();
    for (rel, text) in sources() {
        let allowed =
            rel.starts_with("cmd") || rel == Path::new("cli.rs") || rel == Path::new("main.rs");
        let code = non_test(&text);
        if !allowed && (code.contains("clap::") || code.contains("crate::cli")) {
            offenders.push(rel.display().to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "clap or cli below cmd/: {offenders:?}"
    );
}

#[test]
fn only_root_and_runner_know_dry_run() {
    // ctx.rs and cli.rs only carry the flag to Root and Runner.
    let plumbing = ["root.rs", "runner.rs", "ctx.rs", "cli.rs"];
    let mut offenders = Vec::new();
    for (rel, text) in sources() {
        if plumbing.iter().any(|p| rel == Path::new(p)) {
            continue;
        }
        if non_test(&text).contains("dry_run") {
            offenders.push(rel.display().to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "dry_run checked outside Root/Runner: {offenders:?}"
    );
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, t)| !t.starts_with("//!"))
        .map(|(r, _)| r.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a //! first line: {missing:?}"
    );
}

#[test]
fn long_functions_say_why() {
    let fn_re =
        regex::Regex::new(r"^(\s*)(pub(\([a-z]+\))? )?(const )?(async )?(unsafe )?fn \w+").unwrap();
    let mut offenders = Vec::new();
    for (rel, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let Some(c) = fn_re.captures(l) else { continue };
            if l.trim_end().ends_with(';') {
                continue;
            }
            let close = format!("{}}}", &c[1]);
            let Some(end) = lines[i..].iter().position(|x| x.trim_end() == close) else {
                continue;
            };
            if end < LONG_FN {
                continue;
            }
            // The comment block (and attributes) right above the function.
            let above = lines[..i]
                .iter()
                .rev()
                .take_while(|x| {
                    let t = x.trim_start();
                    t.starts_with("//") || t.starts_with("#[")
                })
                .any(|x| x.contains("Long:"));
            if !above {
                offenders.push(format!("{}:{} ({} lines)", rel.display(), i + 1, end + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "functions over {LONG_FN} lines without a `// Long:` reason: {offenders:?}"
    );
}

#[test]
fn the_module_reader_sees_grouped_imports() {
    let r =
        crate_refs("use crate::{apply::{self, Desired}, cli::X, root};\nlet x = crate::plan::y;");
    let want: BTreeSet<String> = ["apply", "cli", "root", "plan"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(r, want);
}
