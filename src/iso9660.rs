//! Read-only ISO 9660 reader (Rock Ridge, Joliet, multi-extent) used by add-image; pure and fuzzable.
//!
//! The reader never trusts a length read from the image: every extent is checked against the
//! real image size before it is read, directory traversal is bounded in depth and entry count,
//! and a directory extent reached twice is reported as a loop instead of recursing forever.

use anyhow::{bail, ensure, Context, Result};
use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};

/// ISO 9660 fixes the logical sector at 2048 bytes; directory records never cross one.
const SECTOR: u64 = 2048;
/// The volume descriptor set always starts at sector 16 (the first 32 KiB are the system area).
const VD_START: u64 = 16;
/// Real images have a handful of descriptors; the bound stops a scan over a huge garbage file.
const MAX_VDS: u64 = 64;
const MAX_DEPTH: usize = 64;
const MAX_ENTRIES: usize = 1_000_000;
/// SUSP continuation areas are tiny in practice; the bounds keep a corrupt chain cheap.
const MAX_CE_HOPS: usize = 32;
const MAX_CE_LEN: u64 = 64 * 1024;
/// Directory bytes one listing or lookup may read in all. Real images hold a few MiB of
/// directories; without a total, many directory records pointing at one huge extent make a
/// listing read the image over and over (time quadratic in its size).
const MAX_DIR_BYTES: u64 = 256 * 1024 * 1024;
/// Directories are read this many sectors at a time so a huge claimed length never
/// turns into one huge allocation.
const DIR_CHUNK_SECTORS: u64 = 32;

const FLAG_HIDDEN: u8 = 0x01;
const FLAG_DIR: u8 = 0x02;
const FLAG_ASSOCIATED: u8 = 0x04;
const FLAG_NOT_FINAL: u8 = 0x80;

/// Which of the name sets recorded in the image is used for paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    RockRidge,
    Joliet,
    Plain,
}

/// A contiguous run of file data, as a byte range of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub offset: u64,
    pub len: u64,
}

/// A file or directory. `size` is the logical size; for multi-extent files it is the sum of
/// all extents, which can exceed 4 GiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub is_dir: bool,
    pub size: u64,
    pub extents: Vec<Extent>,
}

/// An opened ISO 9660 image.
pub struct Iso<R: Read + Seek> {
    r: R,
    image_len: u64,
    kind: NameKind,
    volume_id: String,
    root: Extent,
    /// SUSP "SP" can ask for bytes at the start of every system use field to be ignored.
    susp_skip: usize,
    /// What is left of `MAX_DIR_BYTES` for the listing or lookup under way.
    dir_budget: u64,
}

/// Called with the signature and the whole entry (header included) of each SUSP entry.
type SuspVisitor<'a> = dyn FnMut(&[u8; 2], &[u8]) -> Result<()> + 'a;

/// One directory record, decoded but not yet interpreted.
struct RawRecord {
    ident: Vec<u8>,
    extent_lba: u32,
    ear_len: u8,
    data_len: u32,
    flags: u8,
    unit_size: u8,
    gap: u8,
    system_use: Vec<u8>,
}

impl RawRecord {
    fn data_offset(&self) -> u64 {
        (u64::from(self.extent_lba) + u64::from(self.ear_len)) * SECTOR
    }

    fn is_self_or_parent(&self) -> bool {
        self.ident == [0] || self.ident == [1]
    }
}

/// What the Rock Ridge entries of one record say that matters for paths.
#[derive(Default)]
struct RrInfo {
    name: Option<String>,
    child_link: Option<u32>,
    relocated: bool,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Decodes one directory record; `rec` is exactly the record's bytes.
fn parse_record(rec: &[u8], where_: &dyn Fn() -> String) -> Result<RawRecord> {
    ensure!(
        rec.len() >= 34,
        "corrupt ISO image: directory record of {} bytes in {} (minimum 34)",
        rec.len(),
        where_()
    );
    let name_len = usize::from(rec[32]);
    ensure!(
        name_len > 0 && 33 + name_len <= rec.len(),
        "corrupt ISO image: directory record in {} has name length {} but record length {}",
        where_(),
        name_len,
        rec.len()
    );
    // An even name length is followed by one padding byte so the system use field is aligned.
    let su_start = (33 + name_len + usize::from(name_len % 2 == 0)).min(rec.len());
    Ok(RawRecord {
        ident: rec[33..33 + name_len].to_vec(),
        extent_lba: le_u32(rec, 2),
        ear_len: rec[1],
        data_len: le_u32(rec, 10),
        flags: rec[25],
        unit_size: rec[26],
        gap: rec[27],
        system_use: rec[su_start..].to_vec(),
    })
}

/// Strips the ";N" version suffix that ISO 9660 appends to file identifiers.
fn strip_version(name: &str) -> &str {
    match name.rfind(';') {
        Some(i) if name[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &name[..i],
        _ => name,
    }
}

fn plain_name(ident: &[u8]) -> String {
    // d-characters are ASCII; anything else is mapped byte-for-char so no input is rejected.
    let s: String = ident.iter().map(|&b| char::from(b)).collect();
    let s = strip_version(&s);
    // "README" is recorded as "README." because the separator is mandatory for files.
    s.strip_suffix('.').unwrap_or(s).to_string()
}

fn joliet_name(ident: &[u8]) -> String {
    let units = ident
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]));
    let s: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    strip_version(&s).to_string()
}

fn check_name(name: &str, where_: &dyn Fn() -> String) -> Result<()> {
    ensure!(
        !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0']),
        "corrupt ISO image: invalid file name {:?} in {}",
        name,
        where_()
    );
    Ok(())
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn truncated(what: &str, offset: u64, len: u64, image_len: u64) -> anyhow::Error {
    anyhow::anyhow!(
        "ISO image truncated: {what} at byte {offset} (+{len} bytes) beyond end of file (size {image_len})"
    )
}

impl Iso<std::fs::File> {
    /// Opens the ISO image at `path` (a file the user names, outside the managed tree).
    pub fn open_path(path: &std::path::Path) -> Result<Self> {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Self::open(f).with_context(|| format!("reading ISO {}", path.display()))
    }
}

impl<R: Read + Seek> Iso<R> {
    /// Reads the volume descriptors and decides which name set to use.
    pub fn open(mut r: R) -> Result<Self> {
        let image_len = r
            .seek(SeekFrom::End(0))
            .context("seeking to the end of the ISO image")?;
        let need = (VD_START + 1) * SECTOR;
        ensure!(
            image_len >= need,
            "not an ISO 9660 image: file is {image_len} bytes, too small to hold a volume descriptor at sector {VD_START}"
        );

        let mut pvd: Option<Vec<u8>> = None;
        let mut joliet_root: Option<Vec<u8>> = None;
        let mut sector = vec![0u8; SECTOR as usize];
        for i in 0..MAX_VDS {
            let lba = VD_START + i;
            if (lba + 1) * SECTOR > image_len {
                break;
            }
            read_at(&mut r, lba * SECTOR, &mut sector)
                .with_context(|| format!("reading volume descriptor at sector {lba}"))?;
            if &sector[1..6] != b"CD001" {
                if i == 0 {
                    bail!(
                        "not an ISO 9660 image: no primary volume descriptor at sector {VD_START}"
                    );
                }
                break;
            }
            match sector[0] {
                1 if pvd.is_none() => pvd = Some(sector.clone()),
                2 if joliet_root.is_none()
                    && matches!(&sector[88..91], b"%/@" | b"%/C" | b"%/E") =>
                {
                    joliet_root = Some(sector[156..190].to_vec());
                }
                255 => break,
                _ => {}
            }
        }
        let pvd = pvd.with_context(|| {
            format!("not an ISO 9660 image: no primary volume descriptor at sector {VD_START}")
        })?;
        let block_size = le_u16(&pvd, 128);
        ensure!(
            u64::from(block_size) == SECTOR,
            "unsupported ISO image: logical block size {block_size} (only 2048 is supported)"
        );
        let volume_id = String::from_utf8_lossy(&pvd[40..72])
            .trim_end_matches([' ', '\0'])
            .to_string();

        let root = root_extent(&pvd[156..190], image_len, "primary volume descriptor")?;
        let mut iso = Iso {
            r,
            image_len,
            kind: NameKind::Plain,
            volume_id,
            root,
            susp_skip: 0,
            dir_budget: MAX_DIR_BYTES,
        };
        if let Some(skip) = iso.detect_rock_ridge()? {
            iso.kind = NameKind::RockRidge;
            iso.susp_skip = skip;
        } else if let Some(rec) = joliet_root {
            iso.root = root_extent(&rec, image_len, "Joliet volume descriptor")?;
            iso.kind = NameKind::Joliet;
        }
        Ok(iso)
    }

    pub fn name_kind(&self) -> NameKind {
        self.kind
    }

    /// The primary volume identifier, i.e. the label that `CDLABEL=` and blkid see.
    pub fn volume_id(&self) -> &str {
        &self.volume_id
    }

    pub fn image_len(&self) -> u64 {
        self.image_len
    }

    /// The root directory as an entry with path "/".
    pub fn root(&self) -> Entry {
        Entry {
            path: "/".to_string(),
            is_dir: true,
            size: self.root.len,
            extents: vec![self.root],
        }
    }

    /// Every file and directory below the root, depth-first, sorted by name within a directory.
    pub fn entries(&mut self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        let root = self.root;
        self.dir_budget = MAX_DIR_BYTES;
        self.walk(root, "/", 0, &mut visited, &mut out)?;
        Ok(out)
    }

    fn walk(
        &mut self,
        dir: Extent,
        path: &str,
        depth: usize,
        visited: &mut HashSet<u64>,
        out: &mut Vec<Entry>,
    ) -> Result<()> {
        ensure!(
            visited.insert(dir.offset),
            "corrupt ISO image: directory loop, extent at byte {} of {} is reached twice",
            dir.offset,
            path
        );
        let mut kids = self.list_dir(dir, path)?;
        kids.sort_by(|a, b| a.path.cmp(&b.path));
        for kid in kids {
            ensure!(
                out.len() < MAX_ENTRIES,
                "ISO image has more than {MAX_ENTRIES} entries; refusing to list it"
            );
            let sub = if kid.is_dir {
                Some((kid.extents.first().copied(), kid.path.clone()))
            } else {
                None
            };
            out.push(kid);
            if let Some((ext, sub_path)) = sub {
                ensure!(
                    depth < MAX_DEPTH,
                    "ISO image directories nested deeper than {MAX_DEPTH} levels at {sub_path}"
                );
                if let Some(ext) = ext {
                    self.walk(ext, &sub_path, depth + 1, visited, out)?;
                }
            }
        }
        Ok(())
    }

    /// Looks up an exact path ("/LiveOS/squashfs.img") in the chosen name set.
    pub fn find(&mut self, path: &str) -> Result<Option<Entry>> {
        self.lookup(path, false)
    }

    /// Like [`Iso::find`] but ignores case, for plain ISO names which are upper case.
    /// An exact match wins over a case-insensitive one.
    pub fn find_ci(&mut self, path: &str) -> Result<Option<Entry>> {
        self.lookup(path, true)
    }

    fn lookup(&mut self, path: &str, ci: bool) -> Result<Option<Entry>> {
        self.dir_budget = MAX_DIR_BYTES;
        let mut cur = self.root();
        for comp in path.split('/').filter(|c| !c.is_empty()) {
            if !cur.is_dir {
                return Ok(None);
            }
            let Some(ext) = cur.extents.first().copied() else {
                return Ok(None);
            };
            let kids = self.list_dir(ext, &cur.path)?;
            let name_of = |e: &Entry| e.path.rsplit('/').next().unwrap_or("").to_string();
            let exact = kids.iter().position(|e| name_of(e) == comp);
            let found = match exact {
                Some(i) => Some(i),
                None if ci => {
                    let want = comp.to_lowercase();
                    kids.iter().position(|e| name_of(e).to_lowercase() == want)
                }
                None => None,
            };
            match found {
                Some(i) => cur = kids.into_iter().nth(i).expect("index from position"),
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// A reader over the entry's data. Extents are checked against the image size up front,
    /// and a read that hits end of file early is an error rather than a short file.
    pub fn open_file<'a>(&'a mut self, e: &Entry) -> Result<FileReader<'a, R>> {
        ensure!(!e.is_dir, "{} is a directory, not a file", e.path);
        let mut total: u64 = 0;
        for x in &e.extents {
            let end = x.offset.checked_add(x.len);
            if end.is_none_or(|end| end > self.image_len) {
                return Err(truncated(
                    &format!("file extent of {}", e.path),
                    x.offset,
                    x.len,
                    self.image_len,
                ));
            }
            total = total.saturating_add(x.len);
        }
        ensure!(
            total >= e.size,
            "corrupt ISO image: {} claims {} bytes but its extents hold only {}",
            e.path,
            e.size,
            total
        );
        Ok(FileReader {
            r: &mut self.r,
            extents: e.extents.clone(),
            idx: 0,
            pos: 0,
            remaining: e.size,
            need_seek: true,
        })
    }

    /// Returns the SUSP skip length if the root's "." record carries SUSP/Rock Ridge entries.
    fn detect_rock_ridge(&mut self) -> Result<Option<usize>> {
        let root = self.root;
        let first_len = root.len.min(SECTOR) as usize;
        let mut buf = vec![0u8; first_len];
        read_at(&mut self.r, root.offset, &mut buf).context("reading the root directory")?;
        let rec_len = usize::from(buf.first().copied().unwrap_or(0));
        if rec_len == 0 || rec_len > buf.len() {
            bail!("corrupt ISO image: root directory has no \".\" record");
        }
        let rec = parse_record(&buf[..rec_len], &|| "the root directory".to_string())?;
        let su = &rec.system_use;
        // SP must be the very first entry of the root's "." record, before any skip applies.
        if su.len() >= 7 && &su[0..2] == b"SP" && su[4] == 0xBE && su[5] == 0xEF {
            return Ok(Some(usize::from(su[6])));
        }
        let mut found = false;
        self.walk_susp(su, &mut |sig, _| {
            if matches!(
                sig,
                b"ER"
                    | b"RR"
                    | b"PX"
                    | b"PN"
                    | b"SL"
                    | b"NM"
                    | b"CL"
                    | b"PL"
                    | b"RE"
                    | b"TF"
                    | b"SF"
            ) {
                found = true;
            }
            Ok(())
        })?;
        Ok(found.then_some(0))
    }

    /// Calls `f` for every SUSP entry of a system use field, following CE continuation areas.
    fn walk_susp(&mut self, field: &[u8], f: &mut SuspVisitor<'_>) -> Result<()> {
        let mut area = field.to_vec();
        let mut hops = 0;
        loop {
            let mut next: Option<(u64, u64)> = None;
            let mut p = 0usize;
            while p + 4 <= area.len() {
                let sig = [area[p], area[p + 1]];
                let len = usize::from(area[p + 2]);
                // Zero padding (or anything shorter than a header) ends the area.
                if len < 4 {
                    break;
                }
                ensure!(
                    p + len <= area.len(),
                    "corrupt ISO image: SUSP entry {} of {} bytes overruns its system use area",
                    String::from_utf8_lossy(&sig),
                    len
                );
                let data = &area[p..p + len];
                match &sig {
                    b"ST" => break,
                    b"CE" if len >= 28 => {
                        let block = u64::from(le_u32(data, 4));
                        let off = u64::from(le_u32(data, 12));
                        let clen = u64::from(le_u32(data, 20));
                        next = Some((block * SECTOR + off, clen));
                    }
                    _ => f(&sig, data)?,
                }
                p += len;
            }
            let Some((offset, len)) = next else {
                return Ok(());
            };
            hops += 1;
            ensure!(
                hops <= MAX_CE_HOPS,
                "corrupt ISO image: more than {MAX_CE_HOPS} chained SUSP continuation areas"
            );
            ensure!(
                len <= MAX_CE_LEN,
                "corrupt ISO image: SUSP continuation area of {len} bytes (limit {MAX_CE_LEN})"
            );
            if offset
                .checked_add(len)
                .is_none_or(|end| end > self.image_len)
            {
                return Err(truncated(
                    "SUSP continuation area",
                    offset,
                    len,
                    self.image_len,
                ));
            }
            area = vec![0u8; len as usize];
            read_at(&mut self.r, offset, &mut area).context("reading a SUSP continuation area")?;
        }
    }

    fn rock_ridge(&mut self, rec: &RawRecord) -> Result<RrInfo> {
        let mut info = RrInfo::default();
        let field = rec.system_use.get(self.susp_skip..).unwrap_or(&[]);
        let mut name: Vec<u8> = Vec::new();
        let mut have_name = false;
        let mut name_done = false;
        self.walk_susp(field, &mut |sig, data| {
            match sig {
                b"NM" if data.len() >= 5 && !name_done => {
                    let flags = data[4];
                    // CURRENT/PARENT flags denote "." and "..", which are never listed.
                    if flags & 0x06 == 0 {
                        name.extend_from_slice(&data[5..]);
                        have_name = true;
                        if flags & 0x01 == 0 {
                            name_done = true;
                        }
                    }
                }
                b"CL" if data.len() >= 12 => info.child_link = Some(le_u32(data, 4)),
                b"RE" => info.relocated = true,
                _ => {}
            }
            Ok(())
        })?;
        if have_name {
            info.name = Some(String::from_utf8_lossy(&name).into_owned());
        }
        Ok(info)
    }

    /// Reads all records of one directory extent.
    fn read_records(&mut self, dir: Extent, path: &str) -> Result<Vec<RawRecord>> {
        if dir
            .offset
            .checked_add(dir.len)
            .is_none_or(|end| end > self.image_len)
        {
            return Err(truncated(
                &format!("directory extent of {path}"),
                dir.offset,
                dir.len,
                self.image_len,
            ));
        }
        ensure!(
            dir.len <= self.dir_budget,
            "corrupt ISO image: its directories add up to more than {MAX_DIR_BYTES} bytes (at {path})"
        );
        self.dir_budget -= dir.len;
        let mut out = Vec::new();
        let chunk_max = DIR_CHUNK_SECTORS * SECTOR;
        let mut buf = Vec::new();
        let mut done: u64 = 0;
        while done < dir.len {
            let n = (dir.len - done).min(chunk_max);
            buf.resize(n as usize, 0);
            read_at(&mut self.r, dir.offset + done, &mut buf)
                .with_context(|| format!("reading directory {path}"))?;
            for (si, sector) in buf.chunks(SECTOR as usize).enumerate() {
                let sector_off = dir.offset + done + si as u64 * SECTOR;
                let mut p = 0usize;
                while p < sector.len() {
                    let rec_len = usize::from(sector[p]);
                    // A zero length byte pads the rest of the sector.
                    if rec_len == 0 {
                        break;
                    }
                    ensure!(
                        p + rec_len <= sector.len(),
                        "corrupt ISO image: directory record at byte {} of {} crosses a sector boundary",
                        sector_off + p as u64,
                        path
                    );
                    let at = sector_off + p as u64;
                    let rec =
                        parse_record(&sector[p..p + rec_len], &|| format!("{path} (byte {at})"))?;
                    out.push(rec);
                    ensure!(
                        out.len() <= MAX_ENTRIES,
                        "ISO image directory {path} has more than {MAX_ENTRIES} records"
                    );
                    p += rec_len;
                }
            }
            done += n;
        }
        Ok(out)
    }

    /// The extent of a relocated directory, whose size lives in its own "." record.
    fn child_link_extent(&mut self, lba: u32, path: &str) -> Result<Extent> {
        let offset = u64::from(lba) * SECTOR;
        if offset
            .checked_add(SECTOR)
            .is_none_or(|e| e > self.image_len)
        {
            return Err(truncated(
                &format!("relocated directory {path}"),
                offset,
                SECTOR,
                self.image_len,
            ));
        }
        let mut buf = vec![0u8; SECTOR as usize];
        read_at(&mut self.r, offset, &mut buf)
            .with_context(|| format!("reading relocated directory {path}"))?;
        let rec_len = usize::from(buf[0]);
        ensure!(
            rec_len > 0,
            "corrupt ISO image: relocated directory {path} has no \".\" record"
        );
        let rec = parse_record(&buf[..rec_len], &|| path.to_string())?;
        Ok(Extent {
            offset: rec.data_offset(),
            len: u64::from(rec.data_len),
        })
    }

    /// The children of one directory, in on-disc order, with multi-extent files merged.
    fn list_dir(&mut self, dir: Extent, path: &str) -> Result<Vec<Entry>> {
        let records = self.read_records(dir, path)?;
        let mut out: Vec<Entry> = Vec::new();
        // A multi-extent file still waiting for its final record, keyed by the raw identifier
        // because Rock Ridge names may be recorded only on the first part.
        let mut pending: Option<(Vec<u8>, Entry)> = None;
        for rec in records {
            if rec.is_self_or_parent() || rec.flags & (FLAG_HIDDEN | FLAG_ASSOCIATED) != 0 {
                continue;
            }
            if let Some((ident, mut entry)) = pending.take() {
                ensure!(
                    ident == rec.ident,
                    "corrupt ISO image: multi-extent file {} is not terminated (followed by a different name)",
                    entry.path
                );
                self.add_extent(&mut entry, &rec)?;
                if rec.flags & FLAG_NOT_FINAL == 0 {
                    out.push(entry);
                } else {
                    pending = Some((ident, entry));
                }
                continue;
            }
            let where_ = || path.to_string();
            let rr = if self.kind == NameKind::RockRidge {
                self.rock_ridge(&rec)?
            } else {
                RrInfo::default()
            };
            // A relocated directory is listed where its CL link points, not under rr_moved.
            if rr.relocated {
                continue;
            }
            let name = match (self.kind, rr.name) {
                (NameKind::RockRidge, Some(n)) => n,
                (NameKind::Joliet, _) => joliet_name(&rec.ident),
                _ => plain_name(&rec.ident),
            };
            check_name(&name, &where_)?;
            let child_path = join(path, &name);
            ensure!(
                rec.unit_size == 0 && rec.gap == 0,
                "unsupported ISO image: {child_path} is an interleaved file (file unit size {}, gap {})",
                rec.unit_size,
                rec.gap
            );
            if let Some(lba) = rr.child_link {
                let ext = self.child_link_extent(lba, &child_path)?;
                out.push(Entry {
                    path: child_path,
                    is_dir: true,
                    size: ext.len,
                    extents: vec![ext],
                });
                continue;
            }
            let is_dir = rec.flags & FLAG_DIR != 0;
            if is_dir {
                ensure!(
                    rec.flags & FLAG_NOT_FINAL == 0,
                    "corrupt ISO image: directory {child_path} is marked multi-extent"
                );
                out.push(Entry {
                    path: child_path,
                    is_dir: true,
                    size: u64::from(rec.data_len),
                    extents: vec![Extent {
                        offset: rec.data_offset(),
                        len: u64::from(rec.data_len),
                    }],
                });
                continue;
            }
            let mut entry = Entry {
                path: child_path,
                is_dir: false,
                size: 0,
                extents: Vec::new(),
            };
            self.add_extent(&mut entry, &rec)?;
            if rec.flags & FLAG_NOT_FINAL != 0 {
                pending = Some((rec.ident, entry));
            } else {
                out.push(entry);
            }
        }
        if let Some((_, entry)) = pending {
            bail!(
                "corrupt ISO image: multi-extent file {} is not terminated (directory {} ends)",
                entry.path,
                path
            );
        }
        Ok(out)
    }

    fn add_extent(&self, entry: &mut Entry, rec: &RawRecord) -> Result<()> {
        let len = u64::from(rec.data_len);
        ensure!(
            entry.extents.len() < MAX_ENTRIES,
            "corrupt ISO image: {} has too many extents",
            entry.path
        );
        entry.size += len;
        // Empty files often point at sector 0 or past the end; they have no data to check.
        if len == 0 {
            return Ok(());
        }
        let offset = rec.data_offset();
        if offset + len > self.image_len {
            return Err(truncated(
                &format!("file extent of {}", entry.path),
                offset,
                len,
                self.image_len,
            ));
        }
        entry.extents.push(Extent { offset, len });
        Ok(())
    }
}

fn root_extent(rec: &[u8], image_len: u64, which: &str) -> Result<Extent> {
    let rec_len = usize::from(rec[0]);
    ensure!(
        rec_len >= 34 && rec_len <= rec.len(),
        "corrupt ISO image: root directory record of the {which} has length {rec_len}"
    );
    let root = parse_record(&rec[..rec_len], &|| format!("the {which}"))?;
    ensure!(
        root.flags & FLAG_DIR != 0,
        "corrupt ISO image: root directory record of the {which} is not a directory"
    );
    let ext = Extent {
        offset: root.data_offset(),
        len: u64::from(root.data_len),
    };
    ensure!(
        ext.len >= 34,
        "corrupt ISO image: root directory of the {which} is {} bytes long",
        ext.len
    );
    if ext.offset + ext.len > image_len {
        return Err(truncated(
            &format!("root directory extent of the {which}"),
            ext.offset,
            ext.len,
            image_len,
        ));
    }
    Ok(ext)
}

fn read_at<R: Read + Seek>(r: &mut R, offset: u64, buf: &mut [u8]) -> Result<()> {
    r.seek(SeekFrom::Start(offset))
        .with_context(|| format!("seeking to byte {offset} of the ISO image"))?;
    r.read_exact(buf).with_context(|| {
        format!(
            "reading {} bytes at byte {offset} of the ISO image",
            buf.len()
        )
    })
}

/// Streams one file's data from its extents; see [`Iso::open_file`].
pub struct FileReader<'a, R: Read + Seek> {
    r: &'a mut R,
    extents: Vec<Extent>,
    idx: usize,
    pos: u64,
    remaining: u64,
    need_seek: bool,
}

impl<R: Read + Seek> FileReader<'_, R> {
    /// Bytes not yet read.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }
}

impl<R: Read + Seek> Read for FileReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let ext = loop {
            let Some(ext) = self.extents.get(self.idx).copied() else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "corrupt ISO image: file extents end before the file size",
                ));
            };
            if self.pos < ext.len {
                break ext;
            }
            self.idx += 1;
            self.pos = 0;
            self.need_seek = true;
        };
        if self.need_seek {
            self.r.seek(SeekFrom::Start(ext.offset + self.pos))?;
            self.need_seek = false;
        }
        let want = (buf.len() as u64)
            .min(ext.len - self.pos)
            .min(self.remaining) as usize;
        let n = self.r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "ISO image truncated: file data at byte {} ends {} bytes early",
                    ext.offset + self.pos,
                    self.remaining
                ),
            ));
        }
        self.pos += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    /// A test-only image builder: enough of ISO 9660, Rock Ridge and Joliet to exercise the
    /// reader, laid out as VDs at 16..=18, then directories, file data and CE areas.
    #[derive(Clone)]
    enum Node {
        File(String, Vec<u8>),
        Dir(String, Vec<Node>),
    }

    fn file(name: &str, data: &[u8]) -> Node {
        Node::File(name.to_string(), data.to_vec())
    }

    fn dir(name: &str, kids: Vec<Node>) -> Node {
        Node::Dir(name.to_string(), kids)
    }

    #[derive(Clone, Copy, Default)]
    struct Opts {
        rr: bool,
        joliet: bool,
        /// Split file data into extents of at most this many bytes (multiple of 2048).
        max_extent: Option<u32>,
        /// Put Rock Ridge entries in CE continuation areas.
        ce: bool,
        /// Split NM names into pieces of this many bytes (0: one NM entry).
        nm_chunk: usize,
    }

    struct FlatDir {
        parent: usize,
        kids: Vec<(String, Kid)>,
    }

    #[derive(Clone, Copy)]
    enum Kid {
        Dir(usize),
        File(usize),
    }

    fn flatten(nodes: &[Node], parent: usize, dirs: &mut Vec<FlatDir>, files: &mut Vec<Vec<u8>>) {
        for n in nodes {
            match n {
                Node::File(name, data) => {
                    files.push(data.clone());
                    let id = files.len() - 1;
                    dirs[parent].kids.push((name.clone(), Kid::File(id)));
                }
                Node::Dir(name, kids) => {
                    dirs.push(FlatDir {
                        parent,
                        kids: Vec::new(),
                    });
                    let id = dirs.len() - 1;
                    dirs[parent].kids.push((name.clone(), Kid::Dir(id)));
                    flatten(kids, id, dirs, files);
                }
            }
        }
    }

    fn dr(lba: u32, len: u32, flags: u8, ident: &[u8], su: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; 33];
        r[2..6].copy_from_slice(&lba.to_le_bytes());
        r[6..10].copy_from_slice(&lba.to_be_bytes());
        r[10..14].copy_from_slice(&len.to_le_bytes());
        r[14..18].copy_from_slice(&len.to_be_bytes());
        r[25] = flags;
        r[28..30].copy_from_slice(&1u16.to_le_bytes());
        r[30..32].copy_from_slice(&1u16.to_be_bytes());
        r[32] = ident.len() as u8;
        r.extend_from_slice(ident);
        if ident.len() & 1 == 0 {
            r.push(0);
        }
        r.extend_from_slice(su);
        if r.len() % 2 == 1 {
            r.push(0);
        }
        assert!(r.len() <= 255, "test builder: record too long");
        r[0] = r.len() as u8;
        r
    }

    fn nm_entries(name: &str, chunk: usize) -> Vec<u8> {
        let bytes = name.as_bytes();
        let chunk = if chunk == 0 {
            bytes.len().max(1)
        } else {
            chunk
        };
        let pieces: Vec<&[u8]> = bytes.chunks(chunk).collect();
        let mut out = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            let more = i + 1 < pieces.len();
            out.extend_from_slice(b"NM");
            out.push(5 + p.len() as u8);
            out.push(1);
            out.push(u8::from(more));
            out.extend_from_slice(p);
        }
        out
    }

    fn ce_entry(lba: u32, len: u32) -> Vec<u8> {
        let mut e = b"CE\x1c\x01".to_vec();
        for v in [lba, 0, len] {
            e.extend_from_slice(&v.to_le_bytes());
            e.extend_from_slice(&v.to_be_bytes());
        }
        e
    }

    const SP: &[u8] = b"SP\x07\x01\xbe\xef\x00";

    fn plain_ident(name: &str, is_dir: bool) -> Vec<u8> {
        let mut s = name.to_uppercase();
        if !is_dir {
            if !s.contains('.') {
                s.push('.');
            }
            s.push_str(";1");
        }
        s.into_bytes()
    }

    fn joliet_ident(name: &str, is_dir: bool) -> Vec<u8> {
        let mut s = name.to_string();
        if !is_dir {
            s.push_str(";1");
        }
        s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
    }

    fn vd(kind: u8, root: &[u8], joliet: bool, sectors: u32) -> Vec<u8> {
        let mut v = vec![0u8; 2048];
        v[0] = kind;
        v[1..6].copy_from_slice(b"CD001");
        v[6] = 1;
        let mut id = b"TEST_VOLUME".to_vec();
        id.resize(32, b' ');
        v[40..72].copy_from_slice(&id);
        v[80..84].copy_from_slice(&sectors.to_le_bytes());
        v[84..88].copy_from_slice(&sectors.to_be_bytes());
        v[120..122].copy_from_slice(&1u16.to_le_bytes());
        v[124..126].copy_from_slice(&1u16.to_le_bytes());
        v[128..130].copy_from_slice(&2048u16.to_le_bytes());
        v[130..132].copy_from_slice(&2048u16.to_be_bytes());
        v[156..156 + root.len()].copy_from_slice(root);
        v[881] = 1;
        if joliet {
            v[88..91].copy_from_slice(b"%/E");
        }
        v
    }

    /// Builds an image; the first directory allocated (the root of the primary tree) is at LBA 19.
    // Long: one writer for every test image (both trees, Rock Ridge, Joliet, multi-extent), kept
    // whole so the byte layout reads top to bottom as the specification lays it out.
    fn build(nodes: &[Node], o: Opts) -> Vec<u8> {
        let mut dirs = vec![FlatDir {
            parent: 0,
            kids: Vec::new(),
        }];
        let mut files = Vec::new();
        flatten(nodes, 0, &mut dirs, &mut files);
        let trees: Vec<bool> = if o.joliet {
            vec![false, true]
        } else {
            vec![false]
        };

        let file_chunks = |len: usize| -> Vec<u32> {
            let max = o.max_extent.unwrap_or(u32::MAX) as usize;
            if len == 0 {
                return vec![0];
            }
            (0..len)
                .step_by(max)
                .map(|s| (len - s).min(max) as u32)
                .collect()
        };

        // Records of one directory; `lbas` gives (lba, size) of dirs per tree, files and CE base.
        struct Layout {
            dir_lba: Vec<Vec<(u32, u32)>>,
            file_lba: Vec<u32>,
            next_ce: u32,
            ce_areas: Vec<(u32, Vec<u8>)>,
        }
        let records = |d: usize, joliet: bool, lay: &mut Layout| -> Vec<Vec<u8>> {
            let t = usize::from(joliet);
            let rr = o.rr && !joliet;
            let (own_lba, own_len) = lay.dir_lba[t][d];
            let (par_lba, par_len) = lay.dir_lba[t][dirs[d].parent];
            let dot_su = if rr && d == 0 {
                SP.to_vec()
            } else {
                Vec::new()
            };
            let mut recs = vec![
                dr(own_lba, own_len, FLAG_DIR, &[0], &dot_su),
                dr(par_lba, par_len, FLAG_DIR, &[1], &[]),
            ];
            let mut kids = dirs[d].kids.clone();
            kids.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, kid) in kids {
                let is_dir = matches!(kid, Kid::Dir(_));
                let ident = if joliet {
                    joliet_ident(&name, is_dir)
                } else {
                    plain_ident(&name, is_dir)
                };
                let mut su = Vec::new();
                if rr {
                    let nm = nm_entries(&name, o.nm_chunk);
                    if o.ce {
                        let lba = lay.next_ce;
                        lay.next_ce += 1;
                        su = ce_entry(lba, nm.len() as u32);
                        lay.ce_areas.push((lba, nm));
                    } else {
                        su = nm;
                    }
                }
                match kid {
                    Kid::Dir(id) => {
                        let (l, n) = lay.dir_lba[t][id];
                        recs.push(dr(l, n, FLAG_DIR, &ident, &su));
                    }
                    Kid::File(id) => {
                        let chunks = file_chunks(files[id].len());
                        let mut lba = lay.file_lba[id];
                        for (i, &c) in chunks.iter().enumerate() {
                            let last = i + 1 == chunks.len();
                            let flags = if last { 0 } else { FLAG_NOT_FINAL };
                            recs.push(dr(lba, c, flags, &ident, &su));
                            lba += c.div_ceil(2048);
                        }
                    }
                }
            }
            recs
        };
        let pack = |recs: &[Vec<u8>]| -> Vec<u8> {
            let mut out = Vec::new();
            let mut used = 0usize;
            for r in recs {
                if used + r.len() > 2048 {
                    out.resize(out.len() + 2048 - used, 0);
                    used = 0;
                }
                out.extend_from_slice(r);
                used += r.len();
            }
            out.resize(out.len().div_ceil(2048).max(1) * 2048, 0);
            out
        };

        // Pass 1: sizes only (record lengths do not depend on LBAs).
        let mut lay = Layout {
            dir_lba: vec![vec![(0, 0); dirs.len()]; trees.len()],
            file_lba: vec![0; files.len()],
            next_ce: 0,
            ce_areas: Vec::new(),
        };
        let mut next: u32 = 19;
        let sizes: Vec<Vec<u32>> = trees
            .iter()
            .map(|&j| {
                (0..dirs.len())
                    .map(|d| pack(&records(d, j, &mut lay)).len() as u32)
                    .collect()
            })
            .collect();
        for (t, tree_sizes) in sizes.iter().enumerate() {
            for (d, &size) in tree_sizes.iter().enumerate() {
                lay.dir_lba[t][d] = (next, size);
                next += size / 2048;
            }
        }
        for (i, f) in files.iter().enumerate() {
            lay.file_lba[i] = if f.is_empty() { 0 } else { next };
            next += (f.len() as u32).div_ceil(2048);
        }
        lay.next_ce = next;
        lay.ce_areas.clear();

        // Pass 2: write everything.
        let mut dir_data = Vec::new();
        for &j in &trees {
            for d in 0..dirs.len() {
                let (lba, _) = lay.dir_lba[usize::from(j)][d];
                dir_data.push((lba, pack(&records(d, j, &mut lay))));
            }
        }
        let total = lay.next_ce;
        let mut img = vec![0u8; total as usize * 2048];
        let mut put = |lba: u32, data: &[u8]| {
            let at = lba as usize * 2048;
            img[at..at + data.len()].copy_from_slice(data);
        };
        for (lba, data) in &dir_data {
            put(*lba, data);
        }
        for (i, f) in files.iter().enumerate() {
            put(lay.file_lba[i], f);
        }
        for (lba, data) in &lay.ce_areas {
            put(*lba, data);
        }
        let root = |t: usize| {
            let (l, n) = lay.dir_lba[t][0];
            dr(l, n, FLAG_DIR, &[0], &[])
        };
        put(16, &vd(1, &root(0), false, total));
        if o.joliet {
            put(17, &vd(2, &root(1), true, total));
            put(18, &vd(255, &[], false, 0)[..7]);
        } else {
            put(17, &vd(255, &[], false, 0)[..7]);
        }
        img
    }

    fn open(img: Vec<u8>) -> Result<Iso<Cursor<Vec<u8>>>> {
        Iso::open(Cursor::new(img))
    }

    fn read_all(iso: &mut Iso<Cursor<Vec<u8>>>, e: &Entry) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        iso.open_file(e)?.read_to_end(&mut v)?;
        Ok(v)
    }

    fn paths(iso: &mut Iso<Cursor<Vec<u8>>>) -> Vec<String> {
        iso.entries().unwrap().into_iter().map(|e| e.path).collect()
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
            .collect()
    }

    fn sample_tree() -> Vec<Node> {
        vec![
            dir(
                "images",
                vec![dir(
                    "pxeboot",
                    vec![
                        file("vmlinuz", &pattern(5000, 1)),
                        file("initrd.img", &pattern(9000, 2)),
                    ],
                )],
            ),
            dir("LiveOS", vec![file("squashfs.img", &pattern(20_000, 3))]),
            file("README", b"hello"),
            file("empty.txt", b""),
        ]
    }

    fn rr_opts() -> Opts {
        Opts {
            rr: true,
            ..Opts::default()
        }
    }

    /// Offset of the record with raw identifier `ident` in the directory sector at `lba`.
    fn record_at(img: &[u8], lba: u32, ident: &[u8]) -> usize {
        let base = lba as usize * 2048;
        let mut p = base;
        while img[p] != 0 {
            let n = img[p + 32] as usize;
            if &img[p + 33..p + 33 + n] == ident {
                return p;
            }
            p += img[p] as usize;
        }
        panic!("test: record {ident:?} not found");
    }

    #[test]
    fn plain_names_are_upper_case_without_version() {
        let mut iso = open(build(&sample_tree(), Opts::default())).unwrap();
        assert_eq!(iso.name_kind(), NameKind::Plain);
        assert_eq!(iso.volume_id(), "TEST_VOLUME");
        assert_eq!(
            paths(&mut iso),
            [
                "/EMPTY.TXT",
                "/IMAGES",
                "/IMAGES/PXEBOOT",
                "/IMAGES/PXEBOOT/INITRD.IMG",
                "/IMAGES/PXEBOOT/VMLINUZ",
                "/LIVEOS",
                "/LIVEOS/SQUASHFS.IMG",
                "/README",
            ]
        );
        assert!(iso.find("/LiveOS/squashfs.img").unwrap().is_none());
        let e = iso.find_ci("/LiveOS/squashfs.img").unwrap().unwrap();
        assert_eq!(e.path, "/LIVEOS/SQUASHFS.IMG");
        assert_eq!(read_all(&mut iso, &e).unwrap(), pattern(20_000, 3));
        let r = iso.find("/README").unwrap().unwrap();
        assert_eq!(read_all(&mut iso, &r).unwrap(), b"hello");
        let empty = iso.find("/EMPTY.TXT").unwrap().unwrap();
        assert_eq!(empty.size, 0);
        assert!(read_all(&mut iso, &empty).unwrap().is_empty());
    }

    #[test]
    fn rock_ridge_names_preferred() {
        let o = Opts {
            rr: true,
            joliet: true,
            ..Opts::default()
        };
        let mut iso = open(build(&sample_tree(), o)).unwrap();
        assert_eq!(iso.name_kind(), NameKind::RockRidge);
        let all = iso.entries().unwrap();
        let names: Vec<&str> = all.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            names,
            [
                "/LiveOS",
                "/LiveOS/squashfs.img",
                "/README",
                "/empty.txt",
                "/images",
                "/images/pxeboot",
                "/images/pxeboot/initrd.img",
                "/images/pxeboot/vmlinuz",
            ]
        );
        let k = iso.find("/images/pxeboot/vmlinuz").unwrap().unwrap();
        assert!(!k.is_dir);
        assert_eq!(k.size, 5000);
        assert_eq!(read_all(&mut iso, &k).unwrap(), pattern(5000, 1));
        assert!(iso.find("/images/pxeboot").unwrap().unwrap().is_dir);
        assert!(iso.find("/images/nope").unwrap().is_none());
        assert!(iso.find("/README/x").unwrap().is_none());
        assert_eq!(iso.find("/").unwrap().unwrap().path, "/");
    }

    #[test]
    fn rock_ridge_split_nm_and_continuation_areas() {
        let long = "a-rather-long-file-name-split-over-several-NM-entries.img";
        let tree = vec![dir("Deep", vec![file(long, b"data")])];
        for ce in [false, true] {
            let o = Opts {
                rr: true,
                ce,
                nm_chunk: 7,
                ..Opts::default()
            };
            let mut iso = open(build(&tree, o)).unwrap();
            assert_eq!(iso.name_kind(), NameKind::RockRidge);
            let want = format!("/Deep/{long}");
            assert_eq!(paths(&mut iso), ["/Deep", want.as_str()]);
            let e = iso.find(&want).unwrap().unwrap();
            assert_eq!(read_all(&mut iso, &e).unwrap(), b"data");
        }
    }

    #[test]
    fn rock_ridge_detected_without_sp() {
        let mut img = build(&sample_tree(), rr_opts());
        // Turn the SP entry of the root "." record into a PX-like RR entry.
        let dot = record_at(&img, 19, &[0]);
        let su = dot + 34;
        assert_eq!(&img[su..su + 2], b"SP");
        img[su..su + 2].copy_from_slice(b"PX");
        let mut iso = open(img).unwrap();
        assert_eq!(iso.name_kind(), NameKind::RockRidge);
        assert!(iso.find("/LiveOS/squashfs.img").unwrap().is_some());
    }

    #[test]
    fn joliet_names_used_without_rock_ridge() {
        let tree = vec![
            dir("LiveOS", vec![file("squashfs.img", b"sq")]),
            file("Ünïcode name.txt", b"u"),
        ];
        let o = Opts {
            joliet: true,
            ..Opts::default()
        };
        let mut iso = open(build(&tree, o)).unwrap();
        assert_eq!(iso.name_kind(), NameKind::Joliet);
        assert_eq!(
            paths(&mut iso),
            ["/LiveOS", "/LiveOS/squashfs.img", "/Ünïcode name.txt"]
        );
        let e = iso.find("/Ünïcode name.txt").unwrap().unwrap();
        assert_eq!(read_all(&mut iso, &e).unwrap(), b"u");
    }

    #[test]
    fn multi_extent_file_is_concatenated() {
        let big = pattern(5 * 2048 + 100, 9);
        let tree = vec![
            file("a", b"before"),
            dir("LiveOS", vec![file("squashfs.img", &big)]),
            file("z", b"after"),
        ];
        for rr in [false, true] {
            let o = Opts {
                rr,
                max_extent: Some(4096),
                ..Opts::default()
            };
            let mut iso = open(build(&tree, o)).unwrap();
            let e = iso.find_ci("/LiveOS/squashfs.img").unwrap().unwrap();
            assert_eq!(e.extents.len(), 3);
            assert_eq!(e.size, big.len() as u64);
            assert_eq!(read_all(&mut iso, &e).unwrap(), big);
            // Small reads must cross extent boundaries correctly too.
            let mut r = iso.open_file(&e).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1000];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, big);
            assert_eq!(iso.entries().unwrap().len(), 4);
        }
    }

    #[test]
    fn unterminated_multi_extent_is_rejected() {
        let tree = vec![file("big", &pattern(3 * 2048, 1))];
        let o = Opts {
            max_extent: Some(2048),
            ..Opts::default()
        };
        let mut img = build(&tree, o);
        let last = {
            let mut p = 19 * 2048;
            let mut last = 0;
            while img[p] != 0 {
                last = p;
                p += img[p] as usize;
            }
            last
        };
        img[last + 25] |= FLAG_NOT_FINAL;
        let err = open(img).unwrap().entries().unwrap_err().to_string();
        assert!(err.contains("not terminated"), "{err}");
    }

    #[test]
    fn hidden_and_associated_files_are_skipped() {
        let mut img = build(&sample_tree(), Opts::default());
        let p = record_at(&img, 19, b"README.;1");
        img[p + 25] |= FLAG_HIDDEN;
        let q = record_at(&img, 19, b"EMPTY.TXT;1");
        img[q + 25] |= FLAG_ASSOCIATED;
        let mut iso = open(img).unwrap();
        let all = paths(&mut iso);
        assert!(!all.iter().any(|p| p == "/README" || p == "/EMPTY.TXT"));
        assert_eq!(all.len(), 6);
    }

    #[test]
    fn interleaved_file_is_rejected() {
        let mut img = build(&sample_tree(), Opts::default());
        let p = record_at(&img, 19, b"README.;1");
        img[p + 26] = 1;
        img[p + 27] = 1;
        let err = open(img).unwrap().entries().unwrap_err().to_string();
        assert!(err.contains("interleaved"), "{err}");
    }

    #[test]
    fn record_crossing_sector_is_rejected() {
        let tree: Vec<Node> = (0..80).map(|i| file(&format!("f{i:02}"), b"x")).collect();
        let mut img = build(&tree, Opts::default());
        // Intact, the two-sector directory lists fine.
        assert_eq!(open(img.clone()).unwrap().entries().unwrap().len(), 80);
        let base = 19 * 2048;
        let mut last = base;
        let mut p = base;
        while p < base + 2048 && img[p] != 0 {
            last = p;
            p += img[p] as usize;
        }
        // Stretch the sector's last record so that it reaches into the next sector.
        img[last] = (base + 2048 - last + 2) as u8;
        let err = open(img).unwrap().entries().unwrap_err().to_string();
        assert!(err.contains("crosses a sector boundary"), "{err}");
    }

    #[test]
    fn directory_loop_is_rejected() {
        let mut img = build(&sample_tree(), Opts::default());
        let p = record_at(&img, 19, b"LIVEOS");
        img[p + 2..p + 6].copy_from_slice(&19u32.to_le_bytes());
        let err = open(img).unwrap().entries().unwrap_err().to_string();
        assert!(err.contains("loop"), "{err}");
    }

    /// Forty-five directory records pointing at distinct places of one 7 MiB run: each is
    /// read whole, 315 MiB in all from an 8 MiB image (a larger image: hours).
    #[test]
    fn directories_read_over_and_over_are_bounded() {
        let sectors = 4096u32;
        let mut img = vec![0u8; sectors as usize * 2048];
        let root = dr(18, 2048, FLAG_DIR, &[0], &[]);
        img[16 * 2048..17 * 2048].copy_from_slice(&vd(1, &root, false, sectors));
        img[17 * 2048] = 255;
        img[17 * 2048 + 1..17 * 2048 + 6].copy_from_slice(b"CD001");
        let mut recs = root.clone();
        recs.extend(dr(18, 2048, FLAG_DIR, &[1], &[]));
        for i in 0..45u32 {
            recs.extend(dr(
                20 + i,
                7 << 20,
                FLAG_DIR,
                format!("D{i:02}").as_bytes(),
                &[],
            ));
        }
        assert!(recs.len() <= 2048, "test: the records fit one sector");
        img[18 * 2048..18 * 2048 + recs.len()].copy_from_slice(&recs);
        let err = open(img).unwrap().entries().unwrap_err().to_string();
        assert!(err.contains("add up to more than"), "{err}");
    }

    fn nested(depth: usize) -> Vec<Node> {
        let mut n = file("leaf", b"x");
        for i in (0..depth).rev() {
            n = dir(&format!("d{i}"), vec![n]);
        }
        vec![n]
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut iso = open(build(&nested(MAX_DEPTH), rr_opts())).unwrap();
        let all = iso.entries().unwrap();
        assert_eq!(all.len(), MAX_DEPTH + 1);
        let mut iso = open(build(&nested(MAX_DEPTH + 6), rr_opts())).unwrap();
        let err = iso.entries().unwrap_err().to_string();
        assert!(err.contains("nested deeper"), "{err}");
    }

    #[test]
    fn truncated_images_are_rejected() {
        let img = build(&sample_tree(), rr_opts());
        let err = open(img[..16 * 2048].to_vec()).err().unwrap().to_string();
        assert!(err.contains("too small"), "{err}");
        // Cut inside the file data: listing must fail with a truncation message.
        let cut = img.len() - 2048;
        let err = open(img[..cut].to_vec())
            .unwrap()
            .entries()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ISO image truncated"), "{err}");
        // Every cut must give Ok or Err, never a panic.
        for cut in (0..img.len()).step_by(509) {
            if let Ok(mut iso) = open(img[..cut].to_vec()) {
                let _ = iso.entries();
            }
        }
    }

    #[test]
    fn reading_fails_if_image_shrinks_below_extents() {
        let img = build(&sample_tree(), rr_opts());
        let mut iso = open(img).unwrap();
        let e = iso.find("/LiveOS/squashfs.img").unwrap().unwrap();
        let mut bogus = e.clone();
        bogus.extents[0].offset = iso.image_len() - 100;
        let err = iso.open_file(&bogus).err().unwrap().to_string();
        assert!(err.contains("ISO image truncated"), "{err}");
        let mut short = e.clone();
        short.size += 1;
        assert!(iso.open_file(&short).is_err());
        // An image shorter than the extents at read time: the reader errors instead of
        // returning a short file.
        let mut iso2 = Iso {
            r: Cursor::new(vec![0u8; 100]),
            image_len: u64::MAX,
            kind: NameKind::Plain,
            volume_id: String::new(),
            root: e.extents[0],
            susp_skip: 0,
            dir_budget: MAX_DIR_BYTES,
        };
        let mut v = Vec::new();
        let err = iso2.open_file(&e).unwrap().read_to_end(&mut v).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn garbage_is_not_an_iso() {
        let err = open(pattern(100_000, 5)).err().unwrap().to_string();
        assert!(
            err.contains("no primary volume descriptor at sector 16"),
            "{err}"
        );
        let err = open(Vec::new()).err().unwrap().to_string();
        assert!(err.contains("not an ISO 9660 image"), "{err}");
        let mut img = pattern(100_000, 5);
        img[16 * 2048 + 1..16 * 2048 + 6].copy_from_slice(b"CD001");
        img[16 * 2048] = 1;
        assert!(open(img).is_err());
    }

    fn exercise(img: Vec<u8>) {
        if let Ok(mut iso) = open(img) {
            let _ = iso.name_kind();
            let _ = iso.find_ci("/liveos/squashfs.img");
            if let Ok(all) = iso.entries() {
                for e in all.iter().filter(|e| !e.is_dir) {
                    if let Ok(mut r) = iso.open_file(e) {
                        let mut sink = Vec::new();
                        let _ = r.read_to_end(&mut sink);
                    }
                }
            }
        }
    }

    fn fuzz_base() -> Vec<u8> {
        let o = Opts {
            rr: true,
            joliet: true,
            ce: true,
            nm_chunk: 5,
            max_extent: Some(4096),
        };
        build(&sample_tree(), o)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn mutated_images_never_panic(
            muts in proptest::collection::vec((0usize..64 * 2048, any::<u8>()), 1..24),
            cut in proptest::option::of(0usize..64 * 2048),
        ) {
            let mut img = fuzz_base();
            for (at, v) in muts {
                // Bias mutations towards the metadata sectors where they matter.
                let at = if at % 2 == 0 { 16 * 2048 + at % (12 * 2048) } else { at };
                if at < img.len() {
                    img[at] = v;
                }
            }
            if let Some(c) = cut {
                img.truncate(c);
            }
            exercise(img);
        }

        #[test]
        fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..48 * 1024)) {
            if bytes.len() > 16 * 2048 + 6 {
                bytes[16 * 2048 + 1..16 * 2048 + 6].copy_from_slice(b"CD001");
            }
            exercise(bytes);
        }
    }
}
