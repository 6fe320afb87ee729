//! SELinux checks (where the profile says SELinux applies): the mode is enforcing, and every
//! served file carries the label the policy expects (its `security.selinux` xattr against
//! `matchpathcon`). The fix is always the precise label rule and relabel, never disabling.
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{Check, Env, Finding};
use crate::need;
use crate::runner::{Cmd, Kind};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "selinux.mode",
            title: "SELinux is enforcing",
            run: mode,
        },
        Check {
            id: "selinux.labels",
            title: "served files carry the SELinux labels the policy expects",
            run: labels,
        },
    ]
}

const ENFORCE: &str = crate::distro::SELINUX_ENFORCE;
/// Offenders listed in the report; the rest are counted.
const SHOW: usize = 5;

/// Reads an extended attribute without following symlinks (lgetxattr); `None` when the file
/// has no such attribute or the filesystem has none at all.
pub fn read_xattr(p: &Path, name: &str) -> std::io::Result<Option<Vec<u8>>> {
    let path = CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let attr = CString::new(name).map_err(std::io::Error::other)?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: both strings are NUL-terminated and live across the call; the buffer's
        // pointer and length describe memory we own.
        let r = unsafe {
            libc::lgetxattr(
                path.as_ptr(),
                attr.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if r >= 0 {
            buf.truncate(r as usize);
            return Ok(Some(buf));
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => return Ok(None),
            Some(libc::ERANGE) => {
                // SAFETY: a size query with a null buffer, as lgetxattr(2) documents.
                let need = unsafe {
                    libc::lgetxattr(path.as_ptr(), attr.as_ptr(), std::ptr::null_mut(), 0)
                };
                if need < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                buf.resize(need as usize + 1, 0);
            }
            _ => return Err(e),
        }
    }
}

/// A file's SELinux context, e.g. `system_u:object_r:tftpdir_rw_t:s0`.
pub fn file_label(p: &Path) -> std::io::Result<Option<String>> {
    Ok(read_xattr(p, "security.selinux")?.map(|v| {
        String::from_utf8_lossy(&v)
            .trim_end_matches('\0')
            .to_string()
    }))
}

/// The type field of a context (`tftpdir_rw_t`).
pub fn label_type(ctx: &str) -> Option<&str> {
    ctx.split(':').nth(2)
}

/// `matchpathcon PATH…` output: `PATH<TAB>CONTEXT` per line (pure).
pub fn parse_matchpathcon(out: &str) -> BTreeMap<PathBuf, String> {
    out.lines()
        .filter_map(|l| {
            let (p, c) = l.rsplit_once(['\t', ' '])?;
            Some((PathBuf::from(p.trim()), c.trim().to_string()))
        })
        .collect()
}

/// Judges the enforce file's content (pure): `None` means SELinux is disabled.
pub fn judge_mode(enforce: Option<&str>) -> Finding {
    match enforce.map(str::trim) {
        Some("1") => Finding::ok("SELinux is enforcing"),
        Some("0") => Finding::warn(
            "SELinux is permissive: denials are logged, not enforced",
            vec![
                "setenforce 1".into(),
                "and in /etc/selinux/config set SELINUX=enforcing so it stays after a reboot".into(),
                "if something breaks once enforcing: ausearch -m avc -ts recent, then fix the label (selinux.labels), never disable SELinux".into(),
            ],
        )
        .with_evidence(vec![format!("{ENFORCE}: 0")]),
        _ => Finding::warn(
            "SELinux is disabled",
            vec![
                "in /etc/selinux/config set SELINUX=enforcing".into(),
                "touch /.autorelabel && reboot   (the whole filesystem is labelled on the way up)".into(),
            ],
        )
        .with_evidence(vec![format!("{ENFORCE} does not exist")]),
    }
}

/// Judges served files' labels (pure): `actual` the xattr of each file, `expected` what
/// matchpathcon said, `rules` the persistent label rules pxe-kit's directories need, `dirs`
/// the served directories.
pub fn judge_labels(
    actual: &[(PathBuf, Option<String>)],
    expected: &BTreeMap<PathBuf, String>,
    rules: &[(&str, PathBuf)],
    dirs: &[PathBuf],
) -> Finding {
    let mut offenders = Vec::new();
    let mut bad_dirs: Vec<&PathBuf> = Vec::new();
    for (p, have) in actual {
        let Some(want) = expected.get(p) else {
            continue;
        };
        let ok = have.as_deref().and_then(label_type) == label_type(want);
        if !ok {
            offenders.push(format!(
                "{}: {} (expected {})",
                p.display(),
                have.as_deref().unwrap_or("no label"),
                want
            ));
            if let Some(d) = dirs.iter().find(|d| p.starts_with(d)) {
                if !bad_dirs.contains(&d) {
                    bad_dirs.push(d);
                }
            }
        }
    }
    if offenders.is_empty() {
        return Finding::ok(format!(
            "{} served file(s) carry the expected labels",
            actual.len()
        ));
    }
    let mut fix = Vec::new();
    // A rule first where the policy does not know the directory, then a relabel.
    for (ty, d) in rules {
        if bad_dirs.contains(&d) {
            fix.push(format!(
                "semanage fcontext -a -t {ty} '{}(/.*)?'",
                d.display()
            ));
        }
    }
    for d in &bad_dirs {
        fix.push(format!("restorecon -RF {}", d.display()));
    }
    let n = offenders.len();
    let mut ev: Vec<String> = offenders.into_iter().take(SHOW).collect();
    if n > SHOW {
        ev.push(format!("… and {} more", n - SHOW));
    }
    Finding::fail(format!("{n} served file(s) carry the wrong SELinux label: daemons will get \"Permission denied\""), fix).with_evidence(ev)
}

/// Whether the SELinux checks apply: the kernel has SELinux on (whatever the distribution: a
/// Debian server may run enforcing), or the distribution ships it on (Fedora, RHEL), where a
/// disabled SELinux is itself worth a warning.
fn applies(env: &Env, mode: bool) -> Result<(), Finding> {
    if env.profile.selinux || (mode && env.profile.is_redhat()) {
        return Ok(());
    }
    Err(Finding::skip(format!(
        "SELinux is not enabled in this kernel ({} does not enable it by default)",
        format!("{:?}", env.profile.distro).to_lowercase()
    )))
}

fn mode(env: &Env) -> Finding {
    need!(applies(env, true));
    need!(env.live());
    let text = std::fs::read_to_string(ENFORCE).ok();
    judge_mode(text.as_deref())
}

fn labels(env: &Env) -> Finding {
    need!(applies(env, false));
    let live = need!(env.live());
    if !env.ctx.root.is_live() {
        return Finding::skip("labels are checked on the live system only: a staged tree's labels are set when it is installed");
    }
    if !Path::new(ENFORCE).exists() {
        return Finding::skip(
            "SELinux is disabled here: there are no labels to check (see selinux.mode)",
        );
    }
    // The served trees, and the DHCP lease database (a wrong label there keeps dhcpd from
    // starting).
    let mut dirs = vec![env.profile.tftp_root.clone(), env.profile.http_dir.clone()];
    dirs.extend(env.profile.selinux_state_paths());
    let mut actual = Vec::new();
    for d in &dirs {
        for e in walkdir::WalkDir::new(d).into_iter().flatten() {
            let p = e.path().to_path_buf();
            let l = file_label(&p).unwrap_or(None);
            actual.push((p, l));
        }
    }
    if actual.is_empty() {
        return Finding::ok("nothing served yet");
    }
    let mut argv = vec!["matchpathcon".to_string()];
    argv.extend(actual.iter().map(|(p, _)| p.display().to_string()));
    let out = match live.runner.query(&Cmd::new(
        Kind::Probe,
        "asking the policy for the expected labels",
        &argv,
    )) {
        Ok(Some(o)) => o.stdout,
        Ok(None) => return Finding::skip("matchpathcon did not run"),
        Err(e) => return Finding::skip(format!("{e:#}")),
    };
    judge_labels(
        &actual,
        &parse_matchpathcon(&out),
        &env.profile.fcontext_rules(),
        &dirs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn mode_enforcing_ok_permissive_and_disabled_warn_never_disable() {
        assert_eq!(judge_mode(Some("1\n")).status, Status::Ok);
        let p = judge_mode(Some("0"));
        assert_eq!(p.status, Status::Warn);
        assert_eq!(p.fix[0], "setenforce 1");
        let d = judge_mode(None);
        assert_eq!(d.status, Status::Warn);
        for f in [p, d] {
            assert!(
                f.fix
                    .iter()
                    .all(|x| !x.contains("SELINUX=disabled") && !x.contains("setenforce 0")),
                "{f:?}"
            );
        }
    }

    #[test]
    fn labels_fixture_good_and_broken() {
        let tftp = PathBuf::from("/srv/pxe/tftp");
        let http = PathBuf::from("/var/www/html/pxe-kit");
        let mpc = "/srv/pxe/tftp\tsystem_u:object_r:tftpdir_rw_t:s0\n/srv/pxe/tftp/pxelinux.0\tsystem_u:object_r:tftpdir_rw_t:s0\n/var/www/html/pxe-kit/f/squashfs.img\tsystem_u:object_r:httpd_sys_content_t:s0\n";
        let expected = parse_matchpathcon(mpc);
        assert_eq!(expected.len(), 3);
        let rules = [("tftpdir_rw_t", tftp.clone())];
        let dirs = [tftp.clone(), http.clone()];
        let good = vec![
            (
                tftp.clone(),
                Some("system_u:object_r:tftpdir_rw_t:s0".to_string()),
            ),
            (
                tftp.join("pxelinux.0"),
                Some("unconfined_u:object_r:tftpdir_rw_t:s0".to_string()),
            ),
            (
                http.join("f/squashfs.img"),
                Some("system_u:object_r:httpd_sys_content_t:s0".to_string()),
            ),
        ];
        assert_eq!(
            judge_labels(&good, &expected, &rules, &dirs).status,
            Status::Ok,
            "the type decides, not the user"
        );
        let mut bad = good.clone();
        bad[1].1 = Some("unconfined_u:object_r:user_home_t:s0".into());
        bad[2].1 = None;
        let f = judge_labels(&bad, &expected, &rules, &dirs);
        assert_eq!(f.status, Status::Fail);
        assert!(f.evidence[0].contains("pxelinux.0: unconfined_u:object_r:user_home_t:s0 (expected system_u:object_r:tftpdir_rw_t:s0)"), "{f:?}");
        assert_eq!(
            f.fix,
            [
                "semanage fcontext -a -t tftpdir_rw_t '/srv/pxe/tftp(/.*)?'",
                "restorecon -RF /srv/pxe/tftp",
                "restorecon -RF /var/www/html/pxe-kit",
            ]
        );
    }

    #[test]
    fn xattrs_are_read_for_real() {
        let t = tempfile::NamedTempFile::new().unwrap();
        // No SELinux here: a file has no security.selinux attribute.
        assert_eq!(file_label(t.path()).unwrap(), None);
        let path = CString::new(t.path().as_os_str().as_bytes()).unwrap();
        let name = CString::new("user.pxe-kit-test").unwrap();
        let val = b"hello\0";
        // SAFETY: valid NUL-terminated strings and a buffer we own.
        let r = unsafe {
            libc::lsetxattr(
                path.as_ptr(),
                name.as_ptr(),
                val.as_ptr().cast(),
                val.len(),
                0,
            )
        };
        if r == 0 {
            assert_eq!(
                read_xattr(t.path(), "user.pxe-kit-test")
                    .unwrap()
                    .as_deref(),
                Some(&val[..])
            );
        } else {
            eprintln!("this filesystem refuses user xattrs; only the absent case was tested");
        }
        assert!(read_xattr(Path::new("/nonexistent/x"), "user.x").is_err());
    }
}
