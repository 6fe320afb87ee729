//! Kernel command lines and menu text as each boot loader reads them, so that no value can
//! change a menu's structure and every loader hands the kernel the same command line.
//!
//! - pxelinux: `APPEND` passes the rest of its line verbatim; only a newline ends it.
//! - iPXE (`core/exec.c`): a line is split at whitespace with no quoting or escape of any
//!   kind; a word starting with `#` ends the line, the words `||`, `&&` and `;` end the
//!   command, `${…}` expands a setting; `kernel` re-joins its arguments with one space.
//! - GRUB: a shell-like lexer (quotes, `\`, `$`, `;`, `&`, `|`, `{`, `#`, …); its `linux`
//!   command re-joins the words it gets (`grub_create_loader_cmdline`), putting a word with a
//!   space in double quotes; releases before 2.12 also put a backslash before every `\`, `'`
//!   and `"`, later ones do not, so those characters reach the kernel differently by release.
//! - The kernel splits at spaces outside double quotes and drops the quotes around a whole
//!   argument (`"p=v w"`) or around its value (`p="v w"`); it knows no backslash escapes.
//!
//! So the one command line all three can carry is: printable ASCII words without `\` or
//! `'`, each a run of non-space characters or a value with single spaces that GRUB's form
//! `"param=value"` quotes; and no word iPXE reads as syntax. `canonical` brings arguments to
//! that form or names the word that cannot be carried. A leaf module: the settings check
//! titles with it, the images build command lines with it, the templates' filters use it.

/// A kernel command line in the one form every loader passes unchanged (see the module
/// doc), or why a word of `s` cannot be carried.
pub fn canonical(s: &str) -> Result<String, String> {
    let words = kernel_words(s)?;
    let line = words
        .iter()
        .map(|w| quoted(w))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(p) = ipxe_problem(&line) {
        return Err(p);
    }
    Ok(line)
}

/// The arguments of `s` as the kernel reads them (quotes removed), each checked.
pub fn kernel_words(s: &str) -> Result<Vec<String>, String> {
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(format!(
            "{c:?} is not printable ASCII; kernel arguments are letters, digits, punctuation and spaces"
        ));
    }
    let mut words = Vec::new();
    let mut rest = s.trim_start_matches(' ');
    while !rest.is_empty() {
        // The kernel's next_arg: a word ends at a space outside double quotes.
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == ' ' && !quoted
            })
            .map_or(rest.len(), |(i, _)| i);
        if quoted {
            return Err(format!("{rest:?} opens a double quote it does not close"));
        }
        words.push(unquote(&rest[..end])?);
        rest = rest[end..].trim_start_matches(' ');
    }
    Ok(words)
}

/// One argument without its quotes: `"p=v w"` and `p="v w"` are the forms the kernel reads.
fn unquote(w: &str) -> Result<String, String> {
    let content = if !w.contains('"') {
        w.to_string()
    } else if let Some(inner) = w
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .filter(|x| !x.contains('"'))
    {
        inner.to_string()
    } else {
        match w.split_once('=') {
            Some((p, v))
                if !p.contains('"')
                    && v.len() >= 2
                    && v.starts_with('"')
                    && v.ends_with('"')
                    && !v[1..v.len() - 1].contains('"') =>
            {
                format!("{p}={}", &v[1..v.len() - 1])
            }
            _ => {
                return Err(format!(
                "{w:?} has a double quote inside; quote a whole argument or its value (p=\"v w\")"
            ))
            }
        }
    };
    if content.is_empty() {
        return Err(format!("{w:?} is an empty argument"));
    }
    if content.contains("  ") || content.starts_with(' ') || content.ends_with(' ') {
        return Err(format!(
            "{w:?} has spaces at its ends or two in a row, which iPXE and GRUB do not keep"
        ));
    }
    if let Some(c) = content.chars().find(|c| matches!(c, '\\' | '\'')) {
        return Err(format!(
            "{w:?} holds {c:?}, which GRUB releases pass to the kernel differently (with or without a backslash)"
        ));
    }
    Ok(content)
}

/// An argument as every loader passes it: in double quotes when it holds a space (GRUB's
/// form), else as it is.
fn quoted(w: &str) -> String {
    if w.contains(' ') {
        format!("\"{w}\"")
    } else {
        w.to_string()
    }
}

/// What iPXE would read as syntax in `text` placed on a command's line: a word starting with
/// `#` (a comment), a word `||`, `&&` or `;` (the next command), `${` (a setting's value).
pub fn ipxe_problem(text: &str) -> Option<String> {
    if text.contains("${") {
        return Some(format!(
            "{text:?} holds \"${{\", which iPXE replaces with a setting's value"
        ));
    }
    text.split_whitespace().find_map(|w| {
        if w.starts_with('#') {
            Some(format!(
                "{text:?} has the word {w:?}: iPXE reads the rest of the line as a comment"
            ))
        } else if ["||", "&&", ";"].contains(&w) {
            Some(format!(
                "{text:?} has the word {w:?}: iPXE runs what follows as another command"
            ))
        } else {
            None
        }
    })
}

/// Characters a menu title may not hold: iPXE's and GRUB's syntax, and quotes.
const TITLE_SPECIAL: &str = "#;|&${}<>'\"\\`";

/// Why `title` cannot be a menu title, if it cannot: every loader shows it as text only.
pub fn title_problem(title: &str) -> Option<String> {
    if let Some(c) = title
        .chars()
        .find(|c| c.is_control() || TITLE_SPECIAL.contains(*c))
    {
        return Some(format!(
            "holds {c:?}; a menu title may not hold control characters nor any of {TITLE_SPECIAL}"
        ));
    }
    // iPXE's `menu` would read a title starting with `-` as an option.
    title
        .starts_with('-')
        .then(|| "starts with -, which iPXE's menu command reads as an option".to_string())
}

/// `text` (a file name shown in a title) with every character `title_problem` refuses
/// replaced by `_` and runs of spaces made one: only ever shown, so nothing is lost that
/// matters, and no name a download gave a file can reach a loader's syntax.
pub fn inert_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() || TITLE_SPECIAL.contains(c) {
            '_'
        } else if c.is_whitespace() {
            ' '
        } else {
            c
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out.trim_start_matches('-').to_string()
}

/// A canonical command line as GRUB words that its `linux` command joins back into that
/// very line: plain words as they are, the rest in single quotes (inside which GRUB reads
/// nothing specially, and which no argument holds).
pub fn grub_words(line: &str) -> Result<String, String> {
    check_canonical(line)?;
    let plain = |w: &str| {
        w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/=+@%".contains(c))
    };
    Ok(kernel_words(line)?
        .iter()
        .map(|w| {
            if plain(w) {
                w.clone()
            } else {
                format!("'{w}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" "))
}

/// `line` unless it is not in the one form every loader carries unchanged (`canonical`).
pub fn check_canonical(line: &str) -> Result<&str, String> {
    let c = canonical(line)?;
    if c != line {
        return Err(format!(
            "kernel arguments {line:?} are not in the form every boot loader passes alike ({c:?})"
        ));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_is_what_grub_rebuilds() {
        assert_eq!(canonical("  quiet   splash ").unwrap(), "quiet splash");
        assert_eq!(
            canonical("acpi_osi=\"!Windows 2012\"").unwrap(),
            "\"acpi_osi=!Windows 2012\""
        );
        assert_eq!(canonical("x=\"plain\" \"q\"").unwrap(), "x=plain q");
        assert_eq!(canonical("a&b $x {y} ;z").unwrap(), "a&b $x {y} ;z");
        assert_eq!(canonical("").unwrap(), "");
        for bad in [
            "a ; b",
            "a || b",
            "a && b",
            "#c",
            "x=${ip}",
            "it's",
            "a\\b",
            "a\"b\"c",
            "\"open",
            "x=\"a  b\"",
            "\"\"",
            "café",
            "tab\there",
            "q \"#x\"",
        ] {
            assert!(canonical(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn grub_words_quote_what_grub_reads() {
        assert_eq!(
            grub_words("root=live:http://10.0.0.1/x/y.img rd.live.image").unwrap(),
            "root=live:http://10.0.0.1/x/y.img rd.live.image"
        );
        assert_eq!(
            grub_words("a&b \"acpi_osi=!Windows 2012\" $HOME").unwrap(),
            "'a&b' 'acpi_osi=!Windows 2012' '$HOME'"
        );
        assert!(grub_words("acpi_osi=\"!Windows 2012\"").is_err());
    }

    #[test]
    fn titles_are_checked_or_made_inert() {
        assert_eq!(title_problem("pxe-kit network boot"), None);
        assert_eq!(title_problem("Lab 3 (B-wing): pick!"), None);
        for bad in ["Lab #1", "a;b", "a || b", "${x}", "it's", "-x", "a\nb"] {
            assert!(title_problem(bad).is_some(), "{bad:?}");
        }
        let t = inert_text("Fedora ; poweroff ; #x ${y} it's\n.iso");
        assert_eq!(t, "Fedora _ poweroff _ _x __y_ it_s_.iso");
        assert_eq!(title_problem(&t), None);
        assert_eq!(inert_text("--x"), "x");
    }
}
