//! Lists what an initramfs holds (concatenated cpio archives, compressed or not) to check for dracut modules.
//!
//! The layout follows what the kernel accepts: a run of segments, each either a raw
//! cpio "newc"/"crc" archive or a compressed stream whose content is one or more
//! such archives, with zero padding allowed between them. Like the kernel, one cpio
//! parser state is kept across segments, so the parsing is push-based: every
//! decompressor writes into `CpioParser`, so reader-style decoders (flate2,
//! libzstd) and hand-driven ones (liblzma, legacy lz4) share one code path.
//! Fedora's and dracut's initramfs images are zstd: libzstd (the `zstd` crate) unpacks
//! them about four times as fast as the pure-Rust ruzstd did, and add-image lists the
//! whole image on every import.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::path::Path;

/// Longer names are not produced by any real tool and would only let hostile input
/// make us buffer arbitrary amounts of memory.
const MAX_NAME_LEN: usize = 4096;
/// Bounds the size of the returned listing for hostile input.
const MAX_ENTRIES: usize = 2_000_000;
/// Bounds the work done on a decompression bomb: real initramfs images unpack to a
/// few hundred MiB at most.
const MAX_TOTAL_BYTES: u64 = 16 << 30;
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

const MAGIC_GZIP: &[u8] = &[0x1f, 0x8b];
const MAGIC_ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const MAGIC_XZ: &[u8] = &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const MAGIC_LZ4_LEGACY: &[u8] = &[0x02, 0x21, 0x4c, 0x18];
const MAGIC_LZMA: &[u8] = &[0x5d, 0x00, 0x00];
const MAGIC_BZIP2: &[u8] = b"BZh";
const MAGIC_LZO: &[u8] = &[0x89, 0x4c, 0x5a, 0x4f];
const MAGIC_NEWC: &[u8] = b"070701";
const MAGIC_CRC: &[u8] = b"070702";

/// The legacy lz4 format used for initramfs images compresses in independent
/// chunks of at most 8 MiB of output each.
const LZ4_LEGACY_CHUNK: usize = 8 << 20;

/// What an initramfs contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitrdInfo {
    /// Every entry's path, in archive order, without a leading "./" or "/".
    pub files: Vec<String>,
    /// Per segment: "none", "gzip", "zstd", "xz", "lzma" or "lz4".
    pub compression: Vec<&'static str>,
}

/// Reads an initramfs image from `r` and lists its entries.
pub fn inspect(r: &mut dyn Read) -> Result<InitrdInfo> {
    let mut src = Src::new(r);
    let mut parser = CpioParser::new();
    let mut compression = Vec::new();
    loop {
        // A compressed segment may end in the middle of an archive when the image
        // was compressed in several frames; only another compressed frame may
        // continue it.
        let mid_archive = !parser.between_archives();
        if !mid_archive {
            skip_zeros(&mut src)?;
        }
        let start = src.pos;
        let head = peek(&mut src, 6)?;
        if head.is_empty() {
            if mid_archive {
                bail!(
                    "truncated initramfs: input ends at offset {start} {}",
                    parser.describe_state()
                );
            }
            break;
        }
        let kind = detect(&head).ok_or_else(|| {
            anyhow!(
                "unrecognized data at offset {start}: {} (expected a cpio archive or a supported compressed stream)",
                hex::encode(&head)
            )
        })?;
        match kind {
            Kind::Cpio if mid_archive => bail!(
                "truncated initramfs: compressed segment ended {}, followed by raw data at offset {start}",
                parser.describe_state()
            ),
            Kind::Cpio => {
                parser.stop_at_trailer = true;
                parser.in_compressed = false;
                parser.saw_trailer = false;
                parser.base = start;
                parser.segment_pos = 0;
                feed_raw(&mut src, &mut parser)?;
                compression.push("none");
            }
            Kind::Unsupported(name) => {
                bail!("{name} compressed segment at offset {start} is not supported")
            }
            Kind::Compressed(name) => {
                parser.stop_at_trailer = false;
                parser.in_compressed = true;
                parser.base = 0;
                parser.segment_pos = 0;
                decompress(name, &mut src, &mut parser).with_context(|| {
                    format!(
                        "{name} segment starting at offset {start} (input offset now {}, decompressed offset {})",
                        src.pos, parser.segment_pos
                    )
                })?;
                compression.push(name);
            }
        }
    }
    if compression.is_empty() {
        bail!("empty input: no cpio archive found");
    }
    Ok(InitrdInfo {
        files: parser.files,
        compression,
    })
}

/// Opens `p` and inspects it; see [`inspect`].
pub fn inspect_path(p: &Path) -> Result<InitrdInfo> {
    let mut f = File::open(p).with_context(|| format!("opening initramfs {}", p.display()))?;
    inspect(&mut f).with_context(|| format!("reading initramfs {}", p.display()))
}

impl InitrdInfo {
    /// Whether dracut's `livenet` module (boot from a live image over HTTP/FTP/...) is in.
    pub fn has_livenet(&self) -> bool {
        self.any_marker(
            &["livenetroot", "dracut-livenet-generator"],
            "-parse-livenet.sh",
        )
    }

    /// Whether dracut's `dmsquash-live` module (mount a squashfs live root) is in.
    pub fn has_dmsquash_live(&self) -> bool {
        self.any_marker(
            &["dmsquash-live-root", "dracut-dmsquash-generator"],
            "-parse-dmsquash-live.sh",
        )
    }

    /// Whether dracut's `nfs` module (NFS root) is in.
    pub fn has_nfs(&self) -> bool {
        self.any_marker(&["nfsroot", "nfs-lib.sh"], "-parse-nfsroot.sh")
    }

    /// The dracut modules pxe-kit's images depend on that this initramfs carries, by name
    /// (`livenet`, `dmsquash-live`, `nfs`): what an image manifest records.
    pub fn dracut_modules(&self) -> Vec<String> {
        [
            ("livenet", self.has_livenet()),
            ("dmsquash-live", self.has_dmsquash_live()),
            ("nfs", self.has_nfs()),
        ]
        .into_iter()
        .filter(|(_, has)| *has)
        .map(|(m, _)| m.to_string())
        .collect()
    }

    /// Kernel versions that have a modules directory in the image, sorted.
    pub fn kernel_versions(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        for f in &self.files {
            let rest = f
                .strip_prefix("usr/lib/modules/")
                .or_else(|| f.strip_prefix("lib/modules/"));
            if let Some(rest) = rest {
                let kver = rest.split('/').next().unwrap_or("");
                if !kver.is_empty() && kver != "." && kver != ".." {
                    out.insert(kver.to_string());
                }
            }
        }
        out.into_iter().collect()
    }

    /// Matches on several names per module because dracut installs a script for the
    /// classic initqueue flow and a generator for systemd-based images, and the
    /// scripts land in `sbin/` or `usr/sbin/` depending on merged-/usr; the cmdline
    /// hook keeps a numeric prefix that may change between versions, hence the suffix.
    fn any_marker(&self, basenames: &[&str], hook_suffix: &str) -> bool {
        self.files.iter().any(|f| {
            let base = f.rsplit('/').next().unwrap_or(f);
            if basenames.contains(&base) {
                return f.contains("sbin/")
                    || f.contains("bin/")
                    || f.contains("system-generators/")
                    || f.starts_with("lib/")
                    || f.starts_with("usr/lib/");
            }
            f.contains("dracut/hooks/cmdline/") && base.ends_with(hook_suffix)
        })
    }
}

enum Kind {
    Cpio,
    Compressed(&'static str),
    Unsupported(&'static str),
}

fn detect(head: &[u8]) -> Option<Kind> {
    let table: [(&[u8], Kind); 9] = [
        (MAGIC_NEWC, Kind::Cpio),
        (MAGIC_CRC, Kind::Cpio),
        (MAGIC_GZIP, Kind::Compressed("gzip")),
        (MAGIC_ZSTD, Kind::Compressed("zstd")),
        (MAGIC_XZ, Kind::Compressed("xz")),
        (MAGIC_LZ4_LEGACY, Kind::Compressed("lz4")),
        (MAGIC_LZMA, Kind::Compressed("lzma")),
        (MAGIC_BZIP2, Kind::Unsupported("bzip2")),
        (MAGIC_LZO, Kind::Unsupported("lzo")),
    ];
    table
        .into_iter()
        .find(|(m, _)| head.starts_with(m))
        .map(|(_, k)| k)
}

/// Buffers the input and counts consumed bytes, so errors can name the input
/// offset, bufread-style decoders stop exactly at the end of their stream, and a
/// magic number can be peeked even across a buffer refill.
struct Src<'a> {
    inner: &'a mut dyn Read,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    pos: u64,
}

impl<'a> Src<'a> {
    fn new(inner: &'a mut dyn Read) -> Self {
        Self {
            inner,
            buf: vec![0; 256 * 1024],
            start: 0,
            end: 0,
            eof: false,
            pos: 0,
        }
    }

    /// Makes at least `n` bytes available unless the input ends first.
    fn fill_at_least(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.start < n && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < n && !self.eof {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(&self.buf[self.start..self.end])
    }
}

impl Read for Src<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Src<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        self.fill_at_least(1)
    }
    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.end - self.start);
        self.start += amt;
        self.pos += amt as u64;
    }
}

fn skip_zeros(src: &mut Src) -> Result<()> {
    loop {
        let pos = src.pos;
        let buf = src
            .fill_buf()
            .with_context(|| format!("reading input at offset {pos}"))?;
        if buf.is_empty() {
            return Ok(());
        }
        let n = buf.iter().take_while(|&&b| b == 0).count();
        let done = n < buf.len();
        src.consume(n);
        if done {
            return Ok(());
        }
    }
}

/// Returns up to `n` bytes without consuming them; fewer only at end of input.
fn peek(src: &mut Src, n: usize) -> Result<Vec<u8>> {
    let pos = src.pos;
    let buf = src
        .fill_at_least(n)
        .with_context(|| format!("reading input at offset {pos}"))?;
    Ok(buf[..n.min(buf.len())].to_vec())
}

fn feed_raw(src: &mut Src, parser: &mut CpioParser) -> Result<()> {
    let start = src.pos;
    loop {
        let pos = src.pos;
        let buf = src
            .fill_buf()
            .with_context(|| format!("reading input at offset {pos}"))?;
        if buf.is_empty() {
            bail!(
                "truncated cpio archive (segment at offset {start}): input ends at offset {pos} {}",
                parser.describe_state()
            );
        }
        let n = parser
            .feed(buf)
            .with_context(|| format!("cpio archive starting at offset {start}"))?;
        src.consume(n);
        if parser.between_archives() {
            return Ok(());
        }
    }
}

fn decompress(name: &str, src: &mut Src, parser: &mut CpioParser) -> Result<()> {
    let mut sink = ParserSink(parser);
    match name {
        "gzip" => {
            let mut d = flate2::bufread::GzDecoder::new(&mut *src);
            io::copy(&mut d, &mut sink)?;
        }
        "zstd" => {
            // One frame, read through `src`'s buffer, so that whatever follows the frame
            // (padding, another segment or frame) is left in `src` for the caller.
            let mut d = zstd::stream::read::Decoder::with_buffer(&mut *src)
                .context("initializing libzstd")?
                .single_frame();
            io::copy(&mut d, &mut sink)?;
        }
        "xz" | "lzma" => {
            // Single-stream decoders, so that whatever follows the stream (padding,
            // another segment) is left in `src` for the caller.
            let stream = if name == "xz" {
                xz2::stream::Stream::new_stream_decoder(u64::MAX, 0)
            } else {
                xz2::stream::Stream::new_lzma_decoder(u64::MAX)
            }
            .context("initializing liblzma")?;
            lzma_stream(src, stream, &mut sink)?;
        }
        "lz4" => lz4_legacy(src, &mut sink)?,
        _ => bail!("internal: no decoder for {name}"),
    }
    Ok(())
}

/// Drives liblzma by hand because xz2's reader reports an error when asked for more
/// after the end of a stream that is followed by more input, which is exactly the
/// case of a segment followed by padding.
fn lzma_stream(src: &mut Src, mut stream: xz2::stream::Stream, out: &mut dyn Write) -> Result<()> {
    use xz2::stream::{Action, Status};
    let mut obuf = vec![0u8; 256 * 1024];
    loop {
        let input = src.fill_buf()?;
        let eof = input.is_empty();
        let (in0, out0) = (stream.total_in(), stream.total_out());
        let action = if eof { Action::Finish } else { Action::Run };
        let status = stream.process(input, &mut obuf, action);
        let consumed = (stream.total_in() - in0) as usize;
        let produced = (stream.total_out() - out0) as usize;
        src.consume(consumed);
        let status = status.map_err(|e| anyhow!("corrupt stream: {e}"))?;
        out.write_all(&obuf[..produced])?;
        if status == Status::StreamEnd {
            return Ok(());
        }
        if consumed == 0 && produced == 0 {
            if eof {
                bail!("stream truncated at end of input");
            }
            bail!("decoder made no progress (corrupt stream)");
        }
    }
}

/// The legacy lz4 container (what `lz4 -l` writes, the only lz4 flavour the kernel
/// unpacks) has no end marker: it runs until the input ends or a length that no
/// chunk can have, such as zero padding or the next segment's magic, which is left
/// unconsumed for the caller.
fn lz4_legacy(src: &mut Src, out: &mut dyn Write) -> Result<()> {
    src.consume(MAGIC_LZ4_LEGACY.len());
    let max_chunk = lz4_flex::block::get_maximum_output_size(LZ4_LEGACY_CHUNK);
    let mut cbuf = Vec::new();
    let mut dbuf = vec![0u8; LZ4_LEGACY_CHUNK];
    loop {
        let head = peek(src, 4)?;
        if head.is_empty() {
            return Ok(());
        }
        if head == MAGIC_LZ4_LEGACY {
            // Concatenated lz4 streams continue the same data.
            src.consume(4);
            continue;
        }
        if head.len() < 4 {
            bail!("truncated lz4 chunk length");
        }
        let clen = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if clen == 0 || clen > max_chunk {
            return Ok(());
        }
        src.consume(4);
        cbuf.resize(clen, 0);
        src.read_exact(&mut cbuf).context("truncated lz4 chunk")?;
        let n = lz4_flex::block::decompress_into(&cbuf, &mut dbuf)
            .map_err(|e| anyhow!("corrupt lz4 chunk: {e}"))?;
        out.write_all(&dbuf[..n])?;
    }
}

/// Adapts the push parser to the `Write` interface that decoders produce into.
struct ParserSink<'a>(&'a mut CpioParser);

impl Write for ParserSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let n = self
                .0
                .feed(&buf[done..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e:#}")))?;
            done += n;
        }
        Ok(done)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before an archive or after a trailer: zeros are padding, else a header follows.
    Between,
    /// Collecting the fixed-size header.
    Header,
    /// Collecting the name (`namesize` bytes including the NUL) and its padding.
    Name { left: usize },
    /// Skipping file data and its padding.
    Data { left: u64 },
}

struct CpioParser {
    state: State,
    /// Whether a raw (uncompressed) segment ends at the trailer so the caller can
    /// look for a compression magic; inside a decompressed stream, more archives may
    /// follow directly.
    stop_at_trailer: bool,
    /// Offset of the current segment in the input, for error messages about raw data.
    base: u64,
    /// Bytes fed since the current segment started.
    segment_pos: u64,
    total: u64,
    /// Set at a trailer and cleared at the next header, so a raw segment stops
    /// right after its trailer.
    saw_trailer: bool,
    /// Offsets are into decompressed data, which error messages must say.
    in_compressed: bool,
    header_at: u64,
    buf: Vec<u8>,
    name_len: usize,
    data_len: u64,
    files: Vec<String>,
}

impl CpioParser {
    fn new() -> Self {
        Self {
            state: State::Between,
            stop_at_trailer: true,
            base: 0,
            segment_pos: 0,
            total: 0,
            saw_trailer: false,
            in_compressed: false,
            header_at: 0,
            buf: Vec::with_capacity(HEADER_LEN),
            name_len: 0,
            data_len: 0,
            files: Vec::new(),
        }
    }

    fn between_archives(&self) -> bool {
        self.state == State::Between
    }

    fn describe_state(&self) -> String {
        let at = self.base + self.header_at;
        let at = if self.in_compressed {
            format!("decompressed offset {at}")
        } else {
            format!("offset {at}")
        };
        match self.state {
            State::Between => "between archives".to_string(),
            State::Header => format!("in the entry header at {at}"),
            State::Name { .. } => format!("in the name of the entry at {at}"),
            State::Data { left } => format!(
                "in the data of entry {:?} (header at {at}), {left} bytes missing",
                self.files.last().map(String::as_str).unwrap_or("")
            ),
        }
    }

    /// Consumes a prefix of `buf` and returns its length. It returns less than all
    /// of `buf` only when `stop_at_trailer` is set and an archive ended.
    fn feed(&mut self, buf: &[u8]) -> Result<usize> {
        let mut i = 0;
        while i < buf.len() {
            let rest = &buf[i..];
            let used = match self.state {
                State::Between => {
                    let zeros = rest.iter().take_while(|&&b| b == 0).count();
                    if zeros == rest.len() {
                        zeros
                    } else {
                        self.saw_trailer = false;
                        self.state = State::Header;
                        self.header_at = self.segment_pos + zeros as u64;
                        self.buf.clear();
                        zeros
                    }
                }
                State::Header => {
                    let want = HEADER_LEN - self.buf.len();
                    let n = want.min(rest.len());
                    self.buf.extend_from_slice(&rest[..n]);
                    if self.buf.len() == HEADER_LEN {
                        self.parse_header()?;
                    }
                    n
                }
                State::Name { left } => {
                    let n = left.min(rest.len());
                    self.buf.extend_from_slice(&rest[..n]);
                    if n == left {
                        self.finish_name()?;
                    } else {
                        self.state = State::Name { left: left - n };
                    }
                    n
                }
                State::Data { left } => {
                    let n = (left.min(rest.len() as u64)) as usize;
                    if n as u64 == left {
                        self.end_entry();
                    } else {
                        self.state = State::Data {
                            left: left - n as u64,
                        };
                    }
                    n
                }
            };
            i += used;
            self.advance(used as u64)?;
            if self.stop_at_trailer && self.saw_trailer {
                return Ok(i);
            }
        }
        Ok(i)
    }

    fn advance(&mut self, n: u64) -> Result<()> {
        self.segment_pos += n;
        self.total += n;
        if self.total > MAX_TOTAL_BYTES {
            bail!("more than {MAX_TOTAL_BYTES} bytes of archive data; refusing to continue");
        }
        Ok(())
    }

    fn parse_header(&mut self) -> Result<()> {
        let at = self.base + self.header_at;
        let h = &self.buf;
        if &h[..6] != MAGIC_NEWC && &h[..6] != MAGIC_CRC {
            bail!(
                "bad cpio header magic at offset {at}: {} (only newc 070701 and crc 070702 are supported)",
                hex::encode(&h[..6])
            );
        }
        let field = |idx: usize| -> Result<u32> {
            let s = &h[6 + idx * 8..6 + idx * 8 + 8];
            let s = std::str::from_utf8(s)
                .ok()
                .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()));
            s.and_then(|s| u32::from_str_radix(s, 16).ok())
                .ok_or_else(|| anyhow!("bad hex field {idx} in cpio header at offset {at}"))
        };
        let filesize = field(6)?;
        let namesize = field(11)? as usize;
        if namesize == 0 || namesize > MAX_NAME_LEN {
            bail!("cpio entry name length {namesize} at offset {at} is out of range (1..={MAX_NAME_LEN})");
        }
        self.data_len = u64::from(filesize);
        self.name_len = namesize;
        // Header and name together are padded to a multiple of four.
        let padded = (HEADER_LEN + namesize).div_ceil(4) * 4;
        self.buf.clear();
        self.state = State::Name {
            left: padded - HEADER_LEN,
        };
        Ok(())
    }

    fn finish_name(&mut self) -> Result<()> {
        let at = self.base + self.header_at;
        let raw = &self.buf[..self.name_len];
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        let name = String::from_utf8_lossy(raw).into_owned();
        self.buf.clear();
        if name == TRAILER {
            // Trailing zero padding after the trailer is eaten by `Between`.
            self.state = State::Between;
            self.saw_trailer = true;
            return Ok(());
        }
        let clean = name.trim_start_matches("./").trim_start_matches('/');
        if !clean.is_empty() && clean != "." {
            if self.files.len() >= MAX_ENTRIES {
                bail!("more than {MAX_ENTRIES} entries (at offset {at}); refusing to continue");
            }
            self.files.push(clean.to_string());
        }
        let padded = self.data_len.div_ceil(4) * 4;
        if padded == 0 {
            self.end_entry();
        } else {
            self.state = State::Data { left: padded };
        }
        Ok(())
    }

    fn end_entry(&mut self) {
        self.state = State::Header;
        self.header_at = self.segment_pos;
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a newc (or crc) archive the way `cpio -o -H newc` lays it out.
    fn cpio(entries: &[(&str, &[u8])], magic: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let trailer: (&str, &[u8]) = (TRAILER, b"");
        for (i, (name, data)) in entries.iter().chain(std::iter::once(&trailer)).enumerate() {
            let mode = if data.is_empty() && *name != TRAILER {
                0o040755
            } else {
                0o100644
            };
            out.extend_from_slice(magic);
            let fields = [
                i as u32 + 1,
                mode,
                0,
                0,
                1,
                0,
                data.len() as u32,
                0,
                0,
                0,
                0,
                name.len() as u32 + 1,
                0,
            ];
            for f in fields {
                out.extend_from_slice(format!("{f:08x}").as_bytes());
            }
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out.extend_from_slice(data);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        }
        while out.len() % 512 != 0 {
            out.push(0);
        }
        out
    }

    fn main_entries() -> Vec<(&'static str, &'static [u8])> {
        vec![
            (".", b""),
            ("usr", b""),
            ("usr/sbin/livenetroot", b"#!/bin/sh\necho live\n"),
            ("usr/sbin/dmsquash-live-root", b"#!/bin/sh\n"),
            ("usr/lib/dracut/hooks/cmdline/29-parse-livenet.sh", b"x"),
            ("usr/lib/modules/6.1.0-99-amd64", b""),
            ("usr/lib/modules/6.1.0-99-amd64/modules.dep", b"abc"),
            ("./init", b"#!/bin/sh\nexec /sbin/init\n"),
        ]
    }

    fn early() -> Vec<u8> {
        cpio(
            &[
                (".", b""),
                ("kernel", b""),
                ("kernel/x86/microcode/GenuineIntel.bin", &[7u8; 1000]),
                ("early_cpio", b"1\n"),
            ],
            MAGIC_NEWC,
        )
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 1).unwrap()
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        xz2::read::XzEncoder::new(data, 1)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn lzma(data: &[u8]) -> Vec<u8> {
        let opts = xz2::stream::LzmaOptions::new_preset(1).unwrap();
        let stream = xz2::stream::Stream::new_lzma_encoder(&opts).unwrap();
        let mut out = Vec::new();
        xz2::read::XzEncoder::new_stream(data, stream)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn lz4_legacy(data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC_LZ4_LEGACY.to_vec();
        for chunk in data.chunks(LZ4_LEGACY_CHUNK) {
            let c = lz4_flex::block::compress(chunk);
            out.extend_from_slice(&(c.len() as u32).to_le_bytes());
            out.extend_from_slice(&c);
        }
        out
    }

    fn run(data: &[u8]) -> Result<InitrdInfo> {
        inspect(&mut &data[..])
    }

    /// Hands out one byte per read so every buffer boundary case is exercised.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    fn expected_main() -> Vec<String> {
        vec![
            "usr",
            "usr/sbin/livenetroot",
            "usr/sbin/dmsquash-live-root",
            "usr/lib/dracut/hooks/cmdline/29-parse-livenet.sh",
            "usr/lib/modules/6.1.0-99-amd64",
            "usr/lib/modules/6.1.0-99-amd64/modules.dep",
            "init",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    }

    #[test]
    fn uncompressed_archive() {
        let info = run(&cpio(&main_entries(), MAGIC_NEWC)).unwrap();
        assert_eq!(info.compression, vec!["none"]);
        assert_eq!(info.files, expected_main());
        assert!(info.has_livenet());
        assert!(info.has_dmsquash_live());
        assert!(!info.has_nfs());
        assert_eq!(info.kernel_versions(), vec!["6.1.0-99-amd64".to_string()]);
    }

    #[test]
    fn crc_format_archive() {
        let info = run(&cpio(&main_entries(), MAGIC_CRC)).unwrap();
        assert_eq!(info.files, expected_main());
    }

    #[test]
    fn each_compression() {
        let raw = cpio(&main_entries(), MAGIC_NEWC);
        let cases: [(&str, Vec<u8>); 5] = [
            ("gzip", gzip(&raw)),
            ("zstd", zstd(&raw)),
            ("xz", xz(&raw)),
            ("lzma", lzma(&raw)),
            ("lz4", lz4_legacy(&raw)),
        ];
        for (name, data) in cases {
            let info = run(&data).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!(info.compression, vec![name]);
            assert_eq!(info.files, expected_main(), "{name}");
        }
    }

    #[test]
    fn early_archive_then_compressed_main() {
        for compress in [gzip as fn(&[u8]) -> Vec<u8>, zstd, xz] {
            let mut img = early();
            img.extend_from_slice(&compress(&cpio(&main_entries(), MAGIC_NEWC)));
            // Padding after the last segment, as some image builders leave.
            img.extend_from_slice(&[0u8; 13]);
            for info in [run(&img).unwrap(), inspect(&mut Trickle(&img)).unwrap()] {
                assert_eq!(info.compression[0], "none");
                assert_eq!(info.compression.len(), 2);
                assert_eq!(info.files[0], "kernel");
                assert_eq!(info.files.len(), 3 + expected_main().len());
                assert!(info.has_livenet());
                assert_eq!(info.kernel_versions(), vec!["6.1.0-99-amd64".to_string()]);
            }
        }
    }

    #[test]
    fn zero_padding_between_segments_and_several_archives_in_one_stream() {
        let mut img = early();
        img.extend_from_slice(&[0u8; 4096 + 3]);
        let mut inner = cpio(&[("a", b"1")], MAGIC_NEWC);
        inner.extend_from_slice(&cpio(&[("lib/modules/5.10.0-1-amd64/x", b"2")], MAGIC_NEWC));
        img.extend_from_slice(&zstd(&inner));
        img.extend_from_slice(&[0u8; 7]);
        img.extend_from_slice(&gzip(&cpio(&[("sbin/nfsroot", b"#!/bin/sh")], MAGIC_NEWC)));
        img.extend_from_slice(&lz4_legacy(&cpio(&[("etc/x", b"y")], MAGIC_NEWC)));
        img.extend_from_slice(&[0u8; 8]);
        img.extend_from_slice(&cpio(&[("etc/late", b"z")], MAGIC_NEWC));
        let info = run(&img).unwrap();
        assert_eq!(
            info.compression,
            vec!["none", "zstd", "gzip", "lz4", "none"]
        );
        assert!(info.has_nfs());
        assert!(!info.has_livenet());
        assert_eq!(info.kernel_versions(), vec!["5.10.0-1-amd64".to_string()]);
        assert_eq!(info.files[info.files.len() - 3], "sbin/nfsroot");
        assert_eq!(info.files.last().unwrap(), "etc/late");
    }

    #[test]
    fn archive_split_across_compressed_members() {
        // The kernel keeps its cpio state across compressed chunks, so an archive
        // may be cut anywhere between two members.
        let raw = cpio(&main_entries(), MAGIC_NEWC);
        let (a, b) = raw.split_at(150);
        let mut img = gzip(a);
        img.extend_from_slice(&gzip(b));
        let info = run(&img).unwrap();
        assert_eq!(info.compression, vec!["gzip", "gzip"]);
        assert_eq!(info.files, expected_main());
    }

    #[test]
    fn truncated_uncompressed_names_offset() {
        let raw = cpio(&main_entries(), MAGIC_NEWC);
        for cut in [50, 130, 200, 400] {
            let err = format!("{:#}", run(&raw[..cut]).unwrap_err());
            assert!(err.contains("truncated"), "{cut}: {err}");
            assert!(err.contains(&format!("offset {cut}")), "{cut}: {err}");
        }
    }

    #[test]
    fn truncated_compressed_is_an_error() {
        let raw = cpio(&main_entries(), MAGIC_NEWC);
        for data in [gzip(&raw), zstd(&raw), xz(&raw)] {
            let mut img = early();
            let cut = img.len() + data.len() / 2;
            img.extend_from_slice(&data);
            let err = format!("{:#}", run(&img[..cut]).unwrap_err());
            assert!(err.contains("offset"), "{err}");
        }
    }

    #[test]
    fn garbage_and_empty_inputs_are_errors() {
        let err = format!("{:#}", run(b"this is not an initramfs at all").unwrap_err());
        assert!(err.contains("unrecognized data at offset 0"), "{err}");
        assert!(run(b"").is_err());
        assert!(run(&[0u8; 1000]).is_err());
        let err = format!("{:#}", run(b"BZh91AY&SY").unwrap_err());
        assert!(err.contains("bzip2"), "{err}");
        let mut img = early();
        img.extend_from_slice(b"junk after the early archive");
        let err = format!("{:#}", run(&img).unwrap_err());
        assert!(err.contains(&format!("offset {}", early().len())), "{err}");
    }

    #[test]
    fn hostile_headers_are_rejected() {
        let mut raw = cpio(&[("a", b"1")], MAGIC_NEWC);
        // namesize is field 11.
        let at = 6 + 11 * 8;
        raw[at..at + 8].copy_from_slice(b"7fffffff");
        let err = format!("{:#}", run(&raw).unwrap_err());
        assert!(err.contains("name length"), "{err}");
        raw[at..at + 8].copy_from_slice(b"0000zz02");
        let err = format!("{:#}", run(&raw).unwrap_err());
        assert!(err.contains("bad hex"), "{err}");
        // A file claiming 4 GiB of data must fail as truncated, not allocate.
        let mut raw = cpio(&[("a", b"1")], MAGIC_NEWC);
        raw[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"ffffffff");
        let err = format!("{:#}", run(&raw).unwrap_err());
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn mutated_inputs_never_panic() {
        let raw = cpio(&main_entries(), MAGIC_NEWC);
        let mut img = early();
        img.extend_from_slice(&zstd(&raw));
        let bases = [img, gzip(&raw), xz(&raw), lz4_legacy(&raw), raw];
        // A fixed xorshift keeps failures reproducible.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for base in &bases {
            for _ in 0..300 {
                let mut m = base.clone();
                for _ in 0..(rnd() % 4 + 1) {
                    let i = (rnd() as usize) % m.len();
                    m[i] = rnd() as u8;
                }
                if rnd() % 3 == 0 {
                    let keep = (rnd() as usize) % m.len();
                    m.truncate(keep);
                }
                let _ = run(&m);
            }
        }
    }

    #[test]
    fn markers_match_real_locations_only() {
        let info = |files: &[&str]| InitrdInfo {
            files: files.iter().map(|s| s.to_string()).collect(),
            compression: vec!["none"],
        };
        assert!(info(&["sbin/livenetroot"]).has_livenet());
        assert!(
            info(&["usr/lib/systemd/system-generators/dracut-livenet-generator"]).has_livenet()
        );
        assert!(
            info(&["usr/lib/dracut/hooks/cmdline/30-parse-dmsquash-live.sh"]).has_dmsquash_live()
        );
        assert!(info(&["usr/lib/nfs-lib.sh"]).has_nfs());
        assert!(info(&["var/lib/dracut/hooks/cmdline/90-parse-nfsroot.sh"]).has_nfs());
        assert!(!info(&["usr/lib/modules/6.1.0/kernel/fs/nfs/nfs.ko"]).has_nfs());
        assert!(!info(&["etc/livenetroot.conf", "home/nfsroot.txt"]).has_livenet());
        assert!(!info(&["home/nfsroot"]).has_nfs());
        assert!(info(&[
            "lib/modules/5.4.0",
            "usr/lib/modules/6.1.0/x",
            "lib/modules"
        ])
        .kernel_versions()
        .eq(&["5.4.0".to_string(), "6.1.0".to_string()]));
    }
}
