//! The shape of the source tree, kept by tests rather than by memory: layers point one way
//! (nothing below `src/cmd/` imports `crate::cmd`, no cycle between top-level modules nor
//! between sibling modules at any level), clap stays in `cli.rs` and `cmd/`, only `Root` and
//! `Runner` (and the plumbing that builds them) know `--dry-run`, every module starts with a
//! `//!` line, no function runs over 150 lines without a comment saying why and none over 200
//! at all. (The raw file and process calls are kept to `Root` and
//! `Runner` by clippy's `disallowed-methods`, see clippy.toml.)
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
/// Functions longer than this need a `// Long:` comment above them saying why.
const LONG_FN: usize = 150;
/// No function runs longer than this, whatever its comment says.
const MAX_FN: usize = 200;

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

/// A function in a source file: where it starts, its name, how many lines it runs from the
/// `fn` line to the closing brace at the same indentation (methods in `impl` blocks and
/// nested functions included), and whether a `// Long:` comment sits above it.
struct FnSpan {
    line: usize,
    name: String,
    lines: usize,
    says_why: bool,
}

/// Every function a file defines, in order.
fn functions(text: &str) -> Vec<FnSpan> {
    let fn_re = regex::Regex::new(
        r#"^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:default\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+"[^"]*"\s+)?fn\s+(\w+)"#,
    )
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(c) = fn_re.captures(l) else { continue };
        // The line that opens the body; a signature ending in `;` first has none (a trait's
        // method or an extern declaration, also when the signature spans lines).
        let Some(open) = lines[i..]
            .iter()
            .position(|x| x.contains('{') || x.trim_end().ends_with(';'))
        else {
            continue;
        };
        let head = lines[i + open];
        if !head.contains('{') {
            continue;
        }
        let depth = head.matches('{').count() as isize - head.matches('}').count() as isize;
        let end = if depth <= 0 {
            // Opened and closed on one line: `fn id(&self) -> u32 { self.id }`.
            open
        } else {
            let close = format!("{}}}", &c[1]);
            let Some(end) = lines[i..].iter().position(|x| x.trim_end() == close) else {
                continue;
            };
            end
        };
        // The comment block (and attributes) right above the function.
        let says_why = lines[..i]
            .iter()
            .rev()
            .take_while(|x| {
                let t = x.trim_start();
                t.starts_with("//") || t.starts_with("#[")
            })
            .any(|x| x.contains("Long:"));
        out.push(FnSpan {
            line: i + 1,
            name: c[2].to_string(),
            lines: end + 1,
            says_why,
        });
    }
    out
}

/// Every function of the sources that `offends`, as "file:line name (N lines)".
fn functions_where(offends: impl Fn(&FnSpan) -> bool) -> Vec<String> {
    let mut offenders = Vec::new();
    for (rel, text) in sources() {
        for f in functions(&text).iter().filter(|f| offends(f)) {
            offenders.push(format!(
                "{}:{} {} ({} lines)",
                rel.display(),
                f.line,
                f.name,
                f.lines
            ));
        }
    }
    offenders
}

#[test]
fn long_functions_say_why() {
    let offenders = functions_where(|f| f.lines > LONG_FN && !f.says_why);
    assert!(
        offenders.is_empty(),
        "functions over {LONG_FN} lines without a `// Long:` reason: {offenders:?}"
    );
}

#[test]
fn no_function_runs_over_the_hard_limit() {
    let offenders = functions_where(|f| f.lines > MAX_FN);
    assert!(
        offenders.is_empty(),
        "functions over {MAX_FN} lines (split them by phase, a `// Long:` comment does not \
         excuse these): {offenders:?}"
    );
}

#[test]
fn the_function_reader_measures_methods_nested_and_one_line_functions() {
    let src = "impl X {\n    pub(crate) fn a(&self) {\n        fn inner() {\n            1;\n        }\n    }\n    fn b(&self) -> u8 { 1 }\n    fn c(\n        &self,\n    ) {\n    }\n}\ntrait T {\n    fn d(\n        &self,\n    ) -> u8;\n    fn e(&self) {\n    }\n}\n";
    let got: Vec<(String, usize)> = functions(src)
        .into_iter()
        .map(|f| (f.name, f.lines))
        .collect();
    let want: Vec<(String, usize)> = [("a", 5), ("inner", 3), ("b", 1), ("c", 4), ("e", 2)]
        .iter()
        .map(|(n, l)| (n.to_string(), *l))
        .collect();
    assert_eq!(got, want);
}

/// A module's path below the crate root: `["lab", "storm", "pair"]` for `lab/storm/pair.rs`,
/// `["lab", "storm"]` for `lab/storm/mod.rs`, empty for `main.rs` and `lib.rs`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut segs: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let file = segs.pop().unwrap_or_default();
    let stem = file.trim_end_matches(".rs");
    if !(segs.is_empty() && (stem == "main" || stem == "lib")) && stem != "mod" {
        segs.push(stem.to_string());
    }
    segs
}

/// The code without its line comments (a doc comment naming `super::x` is no dependency).
fn without_comments(code: &str) -> String {
    code.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits a `use` group's body at its top-level commas.
fn group_items(body: &str) -> Vec<&str> {
    let (mut depth, mut from, mut out) = (0, 0, Vec::new());
    for (i, ch) in body.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&body[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[from..]);
    out
}

/// Every full path a path tree names below `prefix`: `a::{self, b::C}` gives `prefix::a`
/// and `prefix::a::b::C`.
fn expand(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let close = tree.rfind('}').unwrap_or(tree.len());
        let mut base = prefix.to_vec();
        base.extend(segments(&tree[..open]));
        for item in group_items(&tree[open + 1..close]) {
            expand(item, &base, out);
        }
    } else {
        let mut p = prefix.to_vec();
        p.extend(segments(tree));
        out.push(p);
    }
}

/// The names of a plain path, without `self`, `*`, a trailing `::` or an `as` rename.
fn segments(path: &str) -> Vec<String> {
    let path = path.split(" as ").next().unwrap_or("");
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "self" && *s != "*")
        .map(String::from)
        .collect()
}

/// The absolute paths a file's code names through `crate::` and `super::` (resolved against
/// the file's module `here`), also inside `use` groups at any depth.
fn module_refs(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let code = without_comments(code);
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let start = if rest.starts_with(b"crate::") {
            Some(("crate::", Vec::new()))
        } else if rest.starts_with(b"super::") {
            Some(("super::", here.to_vec()))
        } else {
            None
        };
        let Some((kw, mut base)) = start.filter(|_| i == 0 || !is_ident(bytes[i - 1])) else {
            i += 1;
            continue;
        };
        let mut j = i + kw.len();
        if kw == "super::" {
            base.pop();
            while bytes[j..].starts_with(b"super::") {
                base.pop();
                j += "super::".len();
            }
        }
        // The path tree runs over names, `::` and one balanced `{…}` group right after a `::`
        // (a brace after a name opens a struct literal or a block, not a group).
        let from = j;
        let mut depth = 0;
        while j < bytes.len() {
            let b = bytes[j];
            if b == b'{' {
                if depth == 0 && !bytes[..j].ends_with(b"::") {
                    break;
                }
                depth += 1;
            } else if b == b'}' {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                if depth == 0 {
                    j += 1;
                    break;
                }
            } else if depth == 0 && !(is_ident(b) || b == b':') {
                break;
            }
            j += 1;
        }
        expand(&code[from..j], &base, &mut out);
        i = j.max(i + 1);
    }
    out
}

/// Per parent module (`crate` for the root), its children's edges `a -> b`, each with the
/// references that make it.
type Levels = BTreeMap<String, BTreeMap<String, BTreeMap<String, BTreeSet<String>>>>;

/// The dependencies between sibling modules, at every level: for each parent module, an edge
/// `a -> b` between two of its children when code in `a` (or below it) names `b` (or
/// something below it). A reference up to an ancestor or down to a descendant links no
/// siblings, and `mod x;` declarations are not references.
fn sibling_graphs(files: &[(PathBuf, String)]) -> Levels {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(r, _)| module_path(r)).collect();
    let mut levels = Levels::new();
    for (rel, text) in files {
        let here = module_path(rel);
        for path in module_refs(non_test(text), &here) {
            // The module named: the longest prefix of the path that is one.
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
                .unwrap_or_default();
            let common = here.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == here.len() || common == target.len() {
                continue;
            }
            let parent = here[..common].join("::");
            let name = |n: usize, p: &[String]| p[..=n].join("::");
            levels
                .entry(if parent.is_empty() {
                    "crate".into()
                } else {
                    parent
                })
                .or_default()
                .entry(name(common, &here))
                .or_default()
                .entry(name(common, &target))
                .or_default()
                .insert(format!("{}: {}", rel.display(), path.join("::")));
        }
    }
    levels
}

/// The cycles a depth-first search closes in one level's graph, each once: at least one
/// wherever the graph has a cycle (not necessarily every one through the same modules).
fn cycles(graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Vec<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut BTreeSet<Vec<String>>,
    ) {
        if let Some(i) = path.iter().position(|p| p == n) {
            // Rotated to start at its smallest module, so each cycle is listed once.
            let mut c = path[i..].to_vec();
            let min = (0..c.len()).min_by_key(|&k| &c[k]).unwrap();
            c.rotate_left(min);
            c.push(c[0].clone());
            found.insert(c);
            return;
        }
        if done.contains(n) {
            return;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flat_map(|e| e.keys()) {
            visit(m, g, path, done, found);
        }
        path.pop();
        done.insert(n.to_string());
    }
    let mut found = BTreeSet::new();
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        visit(n, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found.into_iter().collect()
}

#[test]
fn sibling_modules_form_no_cycle() {
    let levels = sibling_graphs(&sources());
    let mut report = Vec::new();
    for (parent, graph) in &levels {
        for c in cycles(graph) {
            let mut s = format!("in {parent}: {}", c.join(" -> "));
            for w in c.windows(2) {
                for r in &graph[&w[0]][&w[1]] {
                    s += &format!("\n    {} -> {}: {r}", w[0], w[1]);
                }
            }
            report.push(s);
        }
    }
    assert!(
        report.is_empty(),
        "module cycles between siblings:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_sibling_reader_finds_a_two_module_cycle_and_only_that() {
    let file = |p: &str, t: &str| (PathBuf::from(p), t.to_string());
    let circle = [
        file(
            "a/mod.rs",
            "//! a\npub mod x;\npub mod y;\npub struct Shared;\n",
        ),
        file(
            "a/x.rs",
            "use super::{y::{self, Thing}, Shared};\nfn f() {}\n",
        ),
        file(
            "a/y.rs",
            "use crate::a::x::Other;\n#[cfg(test)]\nmod tests { use super::super::z; }\n",
        ),
        file("b.rs", "use crate::a::Shared;\n"),
    ];
    let levels = sibling_graphs(&circle);
    assert_eq!(
        cycles(&levels["a"]),
        [["a::x", "a::y", "a::x"].map(String::from).to_vec()]
    );
    assert!(cycles(&levels["crate"]).is_empty());
    // y names its parent rather than x: an edge up, no circle.
    let acyclic = [
        circle[0].clone(),
        circle[1].clone(),
        file(
            "a/y.rs",
            "// see crate::a::x\nuse super::Shared;\nfn g() { super::super::c::h(); }\n",
        ),
        circle[3].clone(),
        file("c.rs", "pub fn h() {}\n"),
    ];
    let levels = sibling_graphs(&acyclic);
    assert!(levels.values().all(|g| cycles(g).is_empty()), "{levels:#?}");
    assert!(levels["a"]["a::x"].contains_key("a::y"));
    assert!(levels["crate"]["a"]["c"].contains("a/y.rs: c::h"));
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
