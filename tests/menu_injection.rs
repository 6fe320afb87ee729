//! Hostile values against the loader menus (issue 19, class 3): file names, `--append` and
//! `boot.title` either stay inside the menu text or kernel arguments they belong to, or are
//! refused with exit 2 naming them. Every rendered grub.cfg passes the real
//! `grub-script-check`, the iPXE script keeps its commands (read the way iPXE's `system()`
//! splits a line), and the kernel command line each loader builds is the same.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::Path;
use std::process::Output;

use common::*;

const PXELINUX: &str = "srv/tftp/pxelinux.cfg/default";
const GRUB: &str = "srv/tftp/grub/grub.cfg";
const IPXE: &str = "var/www/html/pxe-kit/ipxe/boot.ipxe";

fn prerequisites() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["grub-script-check", "cpio"], &[]))
}

/// A staged Debian server after `init`.
fn staged() -> tempfile::TempDir {
    let t = stage_debian();
    ok(&run(t.path(), INIT));
    t
}

/// `add-image --name NAME` from a fake kernel, live initrd and root image whose file name is
/// `rootfs` (the image's source name, shown in menu titles), plus `extra` flags.
fn add_image(root: &Path, name: &str, rootfs: &str, extra: &[&str]) -> Output {
    let w = tempfile::tempdir().unwrap();
    fake_image_files(w.path(), rootfs);
    let mut argv = fake_image_argv(w.path(), name, rootfs);
    argv.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(root, &argv)
}

/// A refused command: exit 2, one line naming `needle`, the tree unchanged.
#[track_caller]
fn assert_refused(root: &Path, what: &str, o: &Output, needle: &str, before: &Snapshot) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{what}: exit {:?}; {err}",
        o.status.code()
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{what}: not one line: {err}"
    );
    assert!(
        err.contains(needle),
        "{what}: error does not name {needle:?}: {err}"
    );
    assert_same(
        before,
        &snapshot(root),
        &format!("{what}: the tree changed"),
    );
}

/// Every command of an iPXE script as iPXE runs it: a line split at whitespace, cut at the
/// first word starting with `#`, divided at `||`, `&&` and `;` words. `:label` lines are
/// labels. Returns (labels, commands).
fn ipxe_commands(script: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut labels = Vec::new();
    let mut cmds = Vec::new();
    for line in script.lines() {
        let l = line.trim_start();
        if let Some(label) = l.strip_prefix(':') {
            labels.push(label.trim().to_string());
            continue;
        }
        let mut cur: Vec<String> = Vec::new();
        for w in l.split_whitespace() {
            if w.starts_with('#') {
                break;
            }
            if ["||", "&&", ";"].contains(&w) {
                cmds.push(std::mem::take(&mut cur));
            } else {
                cur.push(w.to_string());
            }
        }
        if !cur.is_empty() {
            cmds.push(cur);
        }
    }
    (labels, cmds)
}

/// The iPXE script has only the commands pxe-kit writes, each menu line whole: `menu` ends
/// in its `|| goto` fallback, every `goto` names a label of the script (or `${target}`).
#[track_caller]
fn assert_ipxe_structure(script: &str) {
    let (labels, cmds) = ipxe_commands(script);
    let known = [
        "chain", "goto", "menu", "item", "choose", "exit", "kernel", "initrd", "boot", "imgfree",
    ];
    for c in &cmds {
        assert!(
            known.contains(&c[0].as_str()),
            "iPXE would run {:?}:\n{script}",
            c.join(" ")
        );
        if c[0] == "goto" {
            assert!(
                c.len() == 2 && (c[1] == "${target}" || labels.contains(&c[1])),
                "goto to no label: {c:?}\n{script}"
            );
        }
    }
    let menu = script.lines().find(|l| l.starts_with("menu ")).unwrap();
    let (_, mc) = ipxe_commands(menu);
    assert_eq!(mc.len(), 2, "menu line lost its fallback: {menu}");
    assert_eq!(mc[1][0], "goto", "menu line lost its fallback: {menu}");
}

/// The kernel command line (after `initrd=`) pxelinux passes for LABEL `name`: APPEND's rest.
fn pxelinux_cmdline(menu: &str, name: &str) -> String {
    let start = menu.find(&format!("LABEL {name}\n")).unwrap();
    let append = menu[start..]
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("APPEND "))
        .unwrap();
    let (initrd, rest) = append.split_once(' ').unwrap();
    assert!(initrd.starts_with("initrd="), "{append}");
    rest.to_string()
}

/// The command line iPXE's `kernel` gives image `name`: its arguments after the URL joined
/// by one space (iPXE's `concat_args`), without `initrd=initrd.img` and `BOOTIF=…`.
fn ipxe_cmdline(script: &str, name: &str) -> String {
    let start = script.find(&format!("\n:{name}\n")).unwrap();
    let line = script[start..]
        .lines()
        .find(|l| l.starts_with("kernel "))
        .unwrap();
    let (_, cmds) = ipxe_commands(line);
    assert_eq!(cmds.len(), 1, "kernel line runs more than kernel: {line}");
    let args = &cmds[0][2..];
    assert_eq!(args[0], "initrd=initrd.img", "{line}");
    assert!(args.last().unwrap().starts_with("BOOTIF="), "{line}");
    args[1..args.len() - 1].join(" ")
}

/// GRUB's words of one line (quotes and backslashes as GRUB's lexer reads them; pxe-kit's
/// `linux` lines hold no variables but `${pxekit_boot}`, kept as written).
fn grub_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            ' ' | '\t' => {
                if has {
                    words.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            '\'' => {
                has = true;
                for q in it.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                has = true;
                while let Some(q) = it.next() {
                    match q {
                        '"' => break,
                        '\\' if matches!(it.peek(), Some('"' | '\\' | '$')) => {
                            cur.push(it.next().unwrap())
                        }
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => {
                has = true;
                if let Some(n) = it.next() {
                    cur.push(n);
                }
            }
            _ => {
                has = true;
                cur.push(c);
            }
        }
    }
    if has {
        words.push(cur);
    }
    words
}

/// The command line GRUB's `linux` builds for entry `name` (grub_create_loader_cmdline: an
/// argument with a space goes in double quotes, `\`, `'` and `"` get a backslash).
fn grub_cmdline(cfg: &str, name: &str) -> String {
    let start = cfg.find(&format!("--id '{name}' {{")).unwrap();
    let line = cfg[start..]
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("linux "))
        .unwrap();
    let words = grub_words(line);
    words[1..]
        .iter()
        .map(|w| {
            let esc: String = w
                .chars()
                .flat_map(|c| {
                    let b = if matches!(c, '\\' | '\'' | '"') {
                        Some('\\')
                    } else {
                        None
                    };
                    b.into_iter().chain([c])
                })
                .collect();
            if w.contains(' ') {
                format!("\"{esc}\"")
            } else {
                esc
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every loader's menu holds together and gives image `name` the same kernel command line;
/// that command line is returned.
#[track_caller]
fn same_cmdline_everywhere(r: &Path, name: &str) -> String {
    if let Err(e) = grub_accepts(&r.join(GRUB)) {
        panic!("grub-script-check rejects grub.cfg: {e}\n{}", read(r, GRUB));
    }
    let ipxe = read(r, IPXE);
    assert_ipxe_structure(&ipxe);
    let px = pxelinux_cmdline(&read(r, PXELINUX), name);
    let gr = grub_cmdline(&read(r, GRUB), name);
    let ip = ipxe_cmdline(&ipxe, name);
    assert_eq!(px, gr, "pxelinux and GRUB pass different command lines");
    assert_eq!(px, ip, "pxelinux and iPXE pass different command lines");
    px
}

#[test]
fn hostile_file_names_stay_inside_the_menu_text() {
    if skip(prerequisites()) {
        return;
    }
    let t = staged();
    let r = t.path();
    // The file name an ISO download may have, and worse: it becomes the image's source name,
    // shown in every menu's title for the image.
    for (i, file) in [
        "Fedora ; poweroff ; .iso",
        "a || reboot && b.squashfs",
        "#x.squashfs",
        "x ${net0.ip} }.squashfs",
        "it's \"q\" \\ $HOME {a} <b> `c`.squashfs",
        "ünïcødé ✓ .squashfs",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("img{i}");
        ok(&add_image(r, &name, file, &[]));
        let cmdline = same_cmdline_everywhere(r, &name);
        assert!(cmdline.contains("rd.live.image"), "{cmdline}");
        let ipxe = read(r, IPXE);
        assert!(
            !ipxe_commands(&ipxe)
                .1
                .iter()
                .any(|c| c[0] == "poweroff" || c[0] == "reboot"),
            "{ipxe}"
        );
    }
}

#[test]
fn append_that_would_run_commands_is_refused_naming_it() {
    if skip(prerequisites()) {
        return;
    }
    let t = staged();
    let r = t.path();
    ok(&add_image(r, "base", "root.squashfs", &[]));
    let long = "x".repeat(3000);
    for append in [
        "quiet ; poweroff",
        "quiet || poweroff",
        "quiet && poweroff",
        "quiet #comment",
        "ip=${net0/ip}",
        "it's",
        "a\\b",
        "a\"b\"c",
        "x=\"unterminated",
        "acpi_osi=\"a  b\"",
        "quiet \"#x\"",
        "café",
        long.as_str(),
    ] {
        let before = snapshot(r);
        let o = add_image(r, "hostile", "root.squashfs", &["--append", append]);
        let needle = if append.len() > 1024 {
            "--append is 3000 bytes".to_string()
        } else {
            format!("--append {append:?}")
        };
        assert_refused(r, append, &o, &needle, &before);
    }
}

#[test]
fn append_with_shell_characters_reaches_every_loader_alike() {
    if skip(prerequisites()) {
        return;
    }
    let t = staged();
    let r = t.path();
    for (i, (append, want)) in [
        ("a&b", "a&b"),
        (
            "x|y {z} $HOME semi;colon <in >out `t` ~u !v",
            "x|y {z} $HOME semi;colon <in >out `t` ~u !v",
        ),
        // A value with a space: GRUB can only hand it on as "param=value", which the kernel
        // reads as the same parameter and value; every loader gets that form.
        ("acpi_osi=\"!Windows 2012\"", "\"acpi_osi=!Windows 2012\""),
        (
            "\"acpi_osi=!Windows 2012\" quiet",
            "\"acpi_osi=!Windows 2012\" quiet",
        ),
        ("opt=\"plain\"   spaced", "opt=plain spaced"),
        ("$ { } & | ;x x# $}", "$ { } & | ;x x# $}"),
    ]
    .iter()
    .enumerate()
    {
        let name = format!("img{i}");
        ok(&add_image(r, &name, "root.squashfs", &["--append", append]));
        let cmdline = same_cmdline_everywhere(r, &name);
        assert!(
            cmdline.ends_with(&format!(" {want}")),
            "{append:?}: the loaders pass {cmdline:?}"
        );
    }
}

#[test]
fn boot_title_that_would_change_the_ipxe_script_is_refused() {
    if skip(prerequisites()) {
        return;
    }
    let t = staged();
    let r = t.path();
    ok(&add_image(r, "f42", "root.squashfs", &["--default"]));
    let good = read(r, "etc/pxe-kit/pxe-kit.yaml");
    for title in [
        "Lab #1",
        "Lab || poweroff",
        "Lab ; poweroff",
        "Lab && poweroff",
        "${hostname}",
        "--delete",
        "it's",
    ] {
        let yaml = good.replace(
            "title: pxe-kit network boot",
            &format!("title: {}", serde_json::to_string(title).unwrap()),
        );
        assert_ne!(yaml, good);
        write(r, "etc/pxe-kit/pxe-kit.yaml", &yaml);
        let before = snapshot(r);
        let o = run(r, &["init"]);
        assert_refused(r, title, &o, &format!("boot.title {:?}", title), &before);
    }
    // Titles that hold nothing iPXE reads specially are kept whole.
    let yaml = good.replace(
        "title: pxe-kit network boot",
        "title: \"Lab 3 (B-wing): pick an image!\"",
    );
    write(r, "etc/pxe-kit/pxe-kit.yaml", &yaml);
    ok(&run(r, &["init"]));
    let ipxe = read(r, IPXE);
    assert!(
        ipxe.contains("menu Lab 3 (B-wing): pick an image! || goto f42"),
        "{ipxe}"
    );
    assert_ipxe_structure(&ipxe);
    assert!(read(r, PXELINUX).contains("MENU TITLE Lab 3 (B-wing): pick an image!"));
}

#[test]
fn endless_template_override_runs_out_of_fuel() {
    if skip(prerequisites()) {
        return;
    }
    let t = staged();
    let r = t.path();
    // 10^10 loop turns: without a fuel limit this renders for hours.
    write(
        r,
        "etc/pxe-kit/templates/grub.cfg.j2",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}\n",
    );
    let before = snapshot(r);
    let child = std::process::Command::new(BIN)
        .arg("--root")
        .arg(r)
        .arg("init")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    // A deadline only so that a template that never ends fails this test rather than hangs
    // it: the test waits for the process's exit, which the fuel limit brings in a second.
    let Ok(o) = rx.recv_timeout(std::time::Duration::from_secs(120)) else {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        panic!("init still rendering the endless template after 120 s: no fuel limit");
    };
    assert_refused(
        r,
        "endless override",
        &o,
        "/etc/pxe-kit/templates/grub.cfg.j2",
        &before,
    );
    assert!(stderr(&o).contains("fuel"), "{}", stderr(&o));
}
