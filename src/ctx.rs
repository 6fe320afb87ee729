//! `Ctx`: what every subcommand gets: the root, the runner, output settings, the distribution
//! and where the settings live.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::{Config, DEFAULT_CONFIG};
use crate::distro::{Distro, Profile};
use crate::lock::StateLock;
use crate::root::{Change, Out, Root};
use crate::runner::Runner;

/// What a `Ctx` is built from: plain values, so the lab and tests build one without clap.
#[derive(Debug, Clone)]
pub struct Options {
    /// The tree to act on; `/` is the running system.
    pub root: PathBuf,
    /// Settings file outside the root (a host path), if not the default under the root.
    pub config: Option<PathBuf>,
    pub dry_run: bool,
    /// The distribution, when not detected from the root's os-release.
    pub distro: Option<Distro>,
    pub out: Out,
    /// How long a changing command waits for another one's state lock.
    pub lock_wait: std::time::Duration,
}

impl Options {
    /// A root with default settings location, detected distribution and the given output.
    pub fn staged(root: &Path, distro: Option<Distro>, out: Out) -> Options {
        Options {
            root: root.to_path_buf(),
            config: None,
            dry_run: false,
            distro,
            out,
            lock_wait: crate::lock::DEFAULT_WAIT,
        }
    }
}

pub struct Ctx {
    pub root: Root,
    pub runner: Runner,
    pub out: Out,
    pub distro: Distro,
    /// Settings file given with --config (a host path), else the default under the root.
    config_arg: Option<PathBuf>,
    lock_wait: std::time::Duration,
}

impl Ctx {
    pub fn new(o: &Options) -> Result<Ctx> {
        let out = o.out;
        let root = Root::new(&o.root, o.dry_run, out)?;
        let distro = match o.distro {
            Some(d) => d,
            None => Distro::detect(&root)?,
        };
        let runner = Runner::new(root.is_live(), o.dry_run, out);
        Ok(Ctx {
            root,
            runner,
            out,
            distro,
            config_arg: o.config.clone(),
            lock_wait: o.lock_wait,
        })
    }

    /// Where the settings are read from and saved to, for messages.
    pub fn config_display(&self) -> PathBuf {
        match &self.config_arg {
            Some(p) => p.clone(),
            None => self.root.path(Path::new(DEFAULT_CONFIG)),
        }
    }

    pub fn load_config(&self) -> Result<Option<Config>> {
        let text = match &self.config_arg {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("reading {}", p.display())),
            },
            None => self.root.read_string_opt(Path::new(DEFAULT_CONFIG))?,
        };
        text.map(|t| Config::load(&self.config_display(), &t))
            .transpose()
    }

    pub fn require_config(&self) -> Result<Config> {
        match self.load_config()? {
            Some(c) => Ok(c),
            None => bail!(
                "no settings at {}; run `pxe-kit init --interface IF ...` first",
                self.config_display().display()
            ),
        }
    }

    pub fn save_config(&self, cfg: &Config) -> Result<Change> {
        let text = cfg.to_yaml();
        match &self.config_arg {
            None => self
                .root
                .write(Path::new(DEFAULT_CONFIG), text.as_bytes(), 0o644),
            Some(p) => {
                // A file named on the command line, outside the root: written with the same
                // rules, in its own directory.
                let dir = p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let name = p
                    .file_name()
                    .with_context(|| format!("--config {}: not a file name", p.display()))?;
                self.root
                    .other(dir)?
                    .write(&Path::new("/").join(name), text.as_bytes(), 0o644)
            }
        }
    }

    pub fn profile(&self, cfg: Option<&Config>) -> Profile {
        Profile::new(self.distro, cfg, &self.root)
    }

    /// The same settings and files with other output settings and, with `live_runner`, a
    /// runner that treats the running system as the target. doctor uses it for the network,
    /// processes and firewall of a staged root that is being served here (`pxe-kit serve`);
    /// files still come from the root.
    pub fn derive(&self, live_runner: bool, out: Out) -> Ctx {
        Ctx {
            root: self.root.clone(),
            runner: self.runner.derive(live_runner, out),
            out,
            distro: self.distro,
            config_arg: self.config_arg.clone(),
            lock_wait: self.lock_wait,
        }
    }

    /// Whether services are managed by systemd: always assumed for a staged tree.
    pub fn systemd(&self) -> bool {
        !self.root.is_live() || Path::new("/run/systemd/system").is_dir()
    }

    /// Refuses to change the live system without root, before anything is touched.
    pub fn require_privileges(&self, verb: &str) -> Result<()> {
        self.root.require_privileges(verb)
    }

    /// What every changing command does first: refuses without privileges, then takes the
    /// state lock (waiting for another command's), so the settings it reads next are the
    /// ones it writes back over.
    pub fn begin_change(&self, verb: &str) -> Result<StateLock> {
        self.require_privileges(verb)?;
        StateLock::acquire(&self.root, self.lock_wait)
    }
}
