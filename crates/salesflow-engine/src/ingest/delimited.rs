//! Delimited text (CSV, TSV, `;`, whitespace-aligned) to typed Arrow batches, in parallel.
//!
//! DataFusion's own CSV scan stops at the first bad row and cannot say on which line a value
//! was, and it knows neither whitespace-aligned columns nor decimal commas. So text files are
//! read here: the file streams through a few reused buffers, each cut at its last record
//! boundary (quote-aware) into a block, blocks are parsed on every core into typed builders,
//! and every row that cannot be read becomes a cleaning-report entry with its line.
//! Everything after this runs on DataFusion.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use salesflow_core::progress::Progress;
use salesflow_core::{Delimiter, Locale};

use super::builders::{Fields, RowBuilder};
use super::columns::ColumnPlan;
use crate::error::{EngineError, Location, Result};
use crate::parse::{DateFormat, parse_number};
use crate::report::RowIssue;

/// One chunk's rows, its entries, and how many rows it read.
type ParsedChunk = (RecordBatch, Vec<RowIssue>, u64);

/// Bytes read before the header is parsed: enough for the header and the rows sampled for
/// date formats (more is read when the header is longer).
const HEAD_BYTES: usize = 4 << 20;

/// A text file opened for reading, with its header understood.
pub(crate) struct TextSource {
    path: PathBuf,
    file: std::fs::File,
    /// Length and modification time when opened: a file that changes while it is read is an
    /// error, not a mix of two versions. `None` for what is not a regular file (a pipe).
    opened: Option<(u64, Option<std::time::SystemTime>)>,
    /// The first bytes of the file (without a UTF-8 byte-order mark); reading goes on after
    /// them.
    head: Vec<u8>,
    /// Whether `head` is the whole file.
    head_is_all: bool,
    pub delimiter: Delimiter,
    pub header: Vec<String>,
    /// Offset in `head` where data rows begin.
    data_start: usize,
    /// Line number of the byte at `data_start`.
    data_start_line: u64,
}

/// One block of whole records handed to a parser: its place in the file and its first line.
struct Block {
    index: usize,
    first_line: u64,
    bytes: Vec<u8>,
}

/// The parsed rows of a text file.
pub(crate) struct Parsed {
    pub batches: Vec<RecordBatch>,
    pub issues: Vec<RowIssue>,
    pub rows_read: u64,
}

fn input_error(
    path: &Path,
    line: Option<u64>,
    message: String,
    hint: Option<String>,
) -> EngineError {
    EngineError::input(
        Location {
            file: Some(path.to_owned()),
            line,
            column: None,
        },
        message,
        hint,
    )
}

/// Appends up to `limit` bytes of `file` to `buffer`; true when the file ended first.
fn read_up_to(file: &std::fs::File, buffer: &mut Vec<u8>, limit: usize) -> std::io::Result<bool> {
    buffer.reserve(limit);
    let read = file.take(limit as u64).read_to_end(buffer)?;
    Ok(read < limit)
}

impl TextSource {
    /// Opens `path` and reads its header. `columns` names the columns of a headerless file.
    pub fn open(
        path: &Path,
        delimiter: Option<Delimiter>,
        columns: Option<&[String]>,
    ) -> Result<TextSource> {
        let io = |source| EngineError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let metadata = file.metadata().map_err(io)?;
        let mut head = Vec::new();
        let mut head_is_all = read_up_to(&file, &mut head, HEAD_BYTES).map_err(io)?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            head.drain(..3);
        }
        // A header needs its line end (or the end of the file) in the head.
        while !head_is_all && !holds_a_line(&head) {
            let more = head.len().max(HEAD_BYTES);
            head_is_all = read_up_to(&file, &mut head, more).map_err(io)?;
        }
        if head.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(input_error(
                path,
                None,
                "the file is empty".into(),
                Some("export the table again, with a header row and at least one data row".into()),
            ));
        }
        let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(&head));
        let mut source = TextSource {
            path: path.to_owned(),
            file,
            opened: metadata
                .is_file()
                .then(|| (metadata.len(), metadata.modified().ok())),
            head,
            head_is_all,
            delimiter,
            header: Vec::new(),
            data_start: 0,
            data_start_line: 1,
        };
        match columns {
            Some(names) => source.header = names.to_vec(),
            None => loop {
                source.read_header()?;
                // A header cut by the end of the head (a quoted name with line breaks in a
                // long header): read more and read it again.
                if source.head_is_all || source.data_start < source.head.len() {
                    break;
                }
                let more = source.head.len().max(HEAD_BYTES);
                source.head_is_all =
                    read_up_to(&source.file, &mut source.head, more).map_err(io)?;
            },
        }
        Ok(source)
    }

    fn read_header(&mut self) -> Result<()> {
        // Skip leading blank lines.
        let mut start = 0;
        let mut line = 1;
        while let Some(end) = memchr::memchr(b'\n', &self.head[start..]) {
            if self.head[start..start + end].trim_ascii().is_empty() {
                start += end + 1;
                line += 1;
            } else {
                break;
            }
        }
        let (fields, consumed) = match self.delimiter {
            Delimiter::Whitespace => {
                let end = memchr::memchr(b'\n', &self.head[start..])
                    .map_or(self.head.len(), |e| start + e + 1);
                let fields: Vec<Vec<u8>> = self.head[start..end]
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|f| !f.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect();
                (fields, end - start)
            }
            Delimiter::Byte(d) => {
                let mut reader = csv_reader(&self.head[start..], d);
                let mut record = csv::ByteRecord::new();
                let ok = reader.read_byte_record(&mut record).map_err(|e| {
                    input_error(
                        &self.path,
                        Some(line),
                        format!("cannot read the header: {e}"),
                        None,
                    )
                })?;
                if !ok {
                    return Err(input_error(
                        &self.path,
                        None,
                        "the file is empty".into(),
                        None,
                    ));
                }
                let consumed = reader.position().byte() as usize;
                (record.iter().map(<[u8]>::to_vec).collect(), consumed)
            }
        };
        let mut header = Vec::with_capacity(fields.len());
        for (i, f) in fields.iter().enumerate() {
            let name = std::str::from_utf8(f.trim_ascii()).map_err(|_| {
                input_error(
                    &self.path,
                    Some(line),
                    format!("the header's column {} is not valid UTF-8", i + 1),
                    Some("convert the file to UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv`".into()),
                )
            })?;
            header.push(name.to_string());
        }
        // Column names are words; a first row holding a number or a date is data.
        let looks_like_data = header.iter().any(|h| {
            parse_number(h, Locale::DecimalPoint).is_ok()
                || DateFormat::Iso.parse_micros(h).is_some()
                || DateFormat::Compact.parse_micros(h).is_some()
        });
        if looks_like_data {
            return Err(input_error(
                &self.path,
                Some(line),
                format!(
                    "the first row ({}) looks like data, not a header",
                    header.join(", ")
                ),
                Some(format!(
                    "name the file's {} columns with --columns a,b,c (e.g. --columns customer_id,ordered_at,amount)",
                    header.len()
                )),
            ));
        }
        let newlines =
            memchr::memchr_iter(b'\n', &self.head[start..start + consumed]).count() as u64;
        self.header = header;
        self.data_start = start + consumed;
        self.data_start_line = line + newlines;
        Ok(())
    }

    /// Up to `limit` rows' fields (those in the head), for inferring date formats.
    pub fn sample_rows(&self, limit: usize) -> Vec<Vec<String>> {
        // Whole lines only: the head may end inside a row.
        let end = match self.head_is_all {
            true => self.head.len(),
            false => memchr::memrchr(b'\n', &self.head).map_or(0, |e| e + 1),
        };
        let data = &self.head[self.data_start.min(end)..end];
        let mut rows = Vec::new();
        match self.delimiter {
            Delimiter::Whitespace => {
                for line in data.split(|b| *b == b'\n').take(limit * 2) {
                    let fields: Vec<String> = line
                        .split(|b| b.is_ascii_whitespace())
                        .filter(|f| !f.is_empty())
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect();
                    if !fields.is_empty() {
                        rows.push(fields);
                    }
                    if rows.len() >= limit {
                        break;
                    }
                }
            }
            Delimiter::Byte(d) => {
                let mut reader = csv_reader(data, d);
                let mut record = csv::ByteRecord::new();
                while rows.len() < limit && matches!(reader.read_byte_record(&mut record), Ok(true))
                {
                    rows.push(
                        record
                            .iter()
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                            .collect(),
                    );
                }
            }
        }
        rows
    }

    /// Parses every data row into batches of `schema`, on `threads` threads, while this
    /// thread reads the file.
    pub fn parse(
        &self,
        plan: &ColumnPlan,
        locale: Locale,
        schema: SchemaRef,
        threads: usize,
        progress: &dyn Progress,
    ) -> Result<Parsed> {
        let total = usize::try_from(self.opened.map_or(0, |(len, _)| len))
            .unwrap_or(usize::MAX)
            .saturating_sub(self.data_start);
        // At most 4 MB: the threads + 2 buffers are fresh memory; with blocks of an eighth of
        // the file a core (13.5 MB on bench/clv) reading into them was 6 % of the run's page
        // faults, ~48 MB (`perf record -e page-faults`).
        let target = (total / (threads.max(1) * 8)).clamp(1 << 20, 4 << 20);
        self.parse_in_blocks(plan, locale, schema, threads, target, progress)
    }

    /// [`TextSource::parse`] with blocks of about `target` bytes.
    fn parse_in_blocks(
        &self,
        plan: &ColumnPlan,
        locale: Locale,
        schema: SchemaRef,
        threads: usize,
        target: usize,
        progress: &dyn Progress,
    ) -> Result<Parsed> {
        let total = self
            .opened
            .map_or(0, |(len, _)| len)
            .saturating_sub(self.data_start as u64);
        progress.start(&format!("reading {}", self.path.display()), total);
        let threads = threads.max(1);
        // One block queued beside those being parsed and the one being read: the buffers in
        // use stay few (a fresh page costs more here than the parsing of it).
        let (blocks, queued) = std::sync::mpsc::sync_channel::<Block>(1);
        let (give_back, returned) = std::sync::mpsc::channel::<Vec<u8>>();
        let queued = Arc::new(Mutex::new(queued));
        let results: Mutex<Vec<Option<Result<ParsedChunk>>>> = Mutex::new(Vec::new());
        let header_len = self.header.len();
        let read = std::thread::scope(|scope| {
            for _ in 0..threads {
                // Each parser holds the only handles of the queue's end and of the way back,
                // so that if they all stopped the reader would not wait for them forever.
                let (queued, give_back) = (Arc::clone(&queued), give_back.clone());
                let (results, schema) = (&results, schema.clone());
                scope.spawn(move || {
                    loop {
                        let next = queued.lock().ok().and_then(|q| q.recv().ok());
                        let Some(block) = next else { break };
                        let estimate = (block.bytes.len() / 32).max(16);
                        let mut rows = RowBuilder::new(plan, header_len, locale, estimate);
                        self.parse_chunk(&block.bytes, block.first_line, &mut rows);
                        let out = rows.finish(schema.clone()).map_err(EngineError::from);
                        progress.advance(block.bytes.len() as u64);
                        if let Ok(mut done) = results.lock() {
                            if done.len() <= block.index {
                                done.resize_with(block.index + 1, || None);
                            }
                            done[block.index] = Some(out);
                        }
                        let _ = give_back.send(block.bytes);
                    }
                });
            }
            drop((queued, give_back));
            let read = self.read_blocks(target, threads + 2, &blocks, &returned);
            // The parsers stop once the queue is closed and empty, also after an error.
            drop(blocks);
            read
        });
        read?;
        progress.finish();
        let results = results
            .into_inner()
            .map_err(|_| EngineError::worker_panicked("CSV reader"))?;
        let mut parsed = Parsed {
            batches: Vec::with_capacity(results.len()),
            issues: Vec::new(),
            rows_read: 0,
        };
        for result in results {
            // A block without a result means its thread died: never drop its rows silently.
            let (batch, issues, rows) =
                result.ok_or_else(|| EngineError::worker_panicked("CSV reader"))??;
            if batch.num_rows() > 0 {
                parsed.batches.push(batch);
            }
            parsed.issues.extend(issues);
            parsed.rows_read += rows;
        }
        Ok(parsed)
    }

    /// Reads the data rows into blocks of whole records of about `target` bytes and queues
    /// them, in at most `buffers` buffers that come back once parsed.
    fn read_blocks(
        &self,
        target: usize,
        buffers: usize,
        blocks: &SyncSender<Block>,
        returned: &Receiver<Vec<u8>>,
    ) -> Result<()> {
        let io = |source| EngineError::Io {
            path: self.path.clone(),
            source,
        };
        let stopped = || EngineError::worker_panicked("CSV reader");
        let mut buffer = Vec::with_capacity(target + target / 8);
        buffer.extend_from_slice(&self.head[self.data_start..]);
        let (mut ended, mut made, mut index, mut line) =
            (self.head_is_all, 1, 0, self.data_start_line);
        let mut rest = Vec::new();
        loop {
            if !ended && buffer.len() < target {
                let wanted = target - buffer.len();
                ended = read_up_to(&self.file, &mut buffer, wanted).map_err(io)?;
            }
            let end = match ended {
                true => buffer.len(),
                false => match last_record_end(&buffer, self.delimiter) {
                    Some(end) => end,
                    None => {
                        // One record longer than a block: the block grows to hold it.
                        let more = buffer.len().max(target);
                        ended = read_up_to(&self.file, &mut buffer, more).map_err(io)?;
                        continue;
                    }
                },
            };
            rest.clear();
            rest.extend_from_slice(&buffer[end..]);
            buffer.truncate(end);
            let first_line = line;
            line += memchr::memchr_iter(b'\n', &buffer).count() as u64;
            if !buffer.is_empty() {
                let block = Block {
                    index,
                    first_line,
                    bytes: buffer,
                };
                blocks.send(block).map_err(|_| stopped())?;
                index += 1;
            }
            if ended && rest.is_empty() {
                break;
            }
            buffer = match returned.try_recv() {
                Ok(free) => free,
                Err(_) if made < buffers => {
                    made += 1;
                    Vec::with_capacity(target + target / 8)
                }
                Err(_) => returned.recv().map_err(|_| stopped())?,
            };
            buffer.clear();
            buffer.extend_from_slice(&rest);
        }
        let now = self.file.metadata().map_err(io)?;
        if self
            .opened
            .is_some_and(|opened| (now.len(), now.modified().ok()) != opened)
        {
            return Err(input_error(
                &self.path,
                None,
                "the file changed while it was read".into(),
                Some("read it again once whatever writes it has finished".into()),
            ));
        }
        Ok(())
    }

    fn parse_chunk(&self, bytes: &[u8], first_line: u64, rows: &mut RowBuilder<'_>) {
        match self.delimiter {
            Delimiter::Whitespace => {
                let mut fields: Vec<&str> = Vec::new();
                for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
                    let line = first_line + i as u64;
                    match std::str::from_utf8(raw) {
                        Ok(text) => {
                            fields.clear();
                            fields.extend(text.split_ascii_whitespace());
                            if !fields.is_empty() {
                                rows.push_row(&fields, line);
                            }
                        }
                        Err(_) => {
                            let parts: Vec<&[u8]> = raw
                                .split(|b| b.is_ascii_whitespace())
                                .filter(|f| !f.is_empty())
                                .collect();
                            let bad = parts
                                .iter()
                                .position(|f| std::str::from_utf8(f).is_err())
                                .unwrap_or(0);
                            rows.push_invalid_utf8(
                                line,
                                bad,
                                parts.get(bad).copied().unwrap_or(raw),
                            );
                        }
                    }
                }
            }
            Delimiter::Byte(d) => {
                if let Some(text) = plain_text(bytes, d) {
                    parse_plain(text, d, first_line, rows);
                    return;
                }
                parse_quoted(bytes, d, first_line, rows);
            }
        }
    }
}

/// Whether `head` holds a non-blank byte and a line end after it.
fn holds_a_line(head: &[u8]) -> bool {
    head.iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|first| memchr::memchr(b'\n', &head[first..]).is_some())
}

/// Where the last whole record of `bytes` ends (after its line feed), if one does. `bytes`
/// starts at a record boundary, so a line feed ends a record when an even number of quotes
/// comes before it (RFC 4180 doubles quotes inside quoted fields, which keeps the count
/// right); whitespace-aligned columns know no quotes.
fn last_record_end(bytes: &[u8], delimiter: Delimiter) -> Option<usize> {
    let quoted = matches!(delimiter, Delimiter::Byte(_)) && memchr::memchr(b'"', bytes).is_some();
    if !quoted {
        return memchr::memrchr(b'\n', bytes).map(|at| at + 1);
    }
    let mut quotes = memchr::memchr_iter(b'"', bytes).count();
    let mut end = bytes.len();
    while let Some(at) = memchr::memrchr(b'\n', &bytes[..end]) {
        quotes -= memchr::memchr_iter(b'"', &bytes[at..end]).count();
        if quotes.is_multiple_of(2) {
            return Some(at + 1);
        }
        end = at;
    }
    None
}

/// A `csv` reader over `bytes` as every reading here wants it: no header row (the header is
/// read as a record), rows of any length (checked against the header by the builders).
fn csv_reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes)
}

/// Where a splitter hands its rows: the typed builders, or a test's list.
pub(crate) trait RowSink {
    fn push_row<F: Fields>(&mut self, fields: &F, line: u64);
    fn push_invalid_utf8(&mut self, line: u64, field: usize, raw: &[u8]);
}

impl RowSink for RowBuilder<'_> {
    fn push_row<F: Fields>(&mut self, fields: &F, line: u64) {
        RowBuilder::push_row(self, fields, line);
    }
    fn push_invalid_utf8(&mut self, line: u64, field: usize, raw: &[u8]) {
        RowBuilder::push_invalid_utf8(self, line, field, raw);
    }
}

/// Splits delimited text with the `csv` crate, which knows quoting.
fn parse_quoted(bytes: &[u8], delimiter: u8, first_line: u64, rows: &mut impl RowSink) {
    let mut reader = csv_reader(bytes, delimiter);
    let mut record = csv::ByteRecord::new();
    // Byte records are checked for UTF-8 once each (not field by field) and turned into
    // string records without copying. Reading from memory has no I/O error to stop at.
    // Lines are counted here: the crate's own line number, and its byte offset, leave out
    // the blank lines it skips before a record.
    let (mut line, mut counted_to) = (first_line, 0);
    while let Ok(true) = reader.read_byte_record(&mut record) {
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line += memchr::memchr_iter(b'\n', &bytes[counted_to..start]).count() as u64;
        counted_to = start;
        // A lone empty field is a blank line in disguise (e.g. "\r\n").
        if record.len() == 1 && record[0].trim_ascii().is_empty() {
            continue;
        }
        match csv::StringRecord::from_byte_record(std::mem::take(&mut record)) {
            Ok(text) => {
                rows.push_row(&text, line);
                record = text.into_byte_record();
            }
            Err(e) => {
                let field = e.utf8_error().field();
                let raw = e.into_byte_record();
                rows.push_invalid_utf8(line, field, raw.get(field).unwrap_or_default());
                record = raw;
            }
        }
    }
}

/// The chunk as text when it can be split without the `csv` crate: valid UTF-8, an ASCII
/// delimiter, no quotes, and every carriage return the first half of a CRLF. Most exports
/// are like this, and then a record is a line and a field what lies between two delimiters.
fn plain_text(bytes: &[u8], delimiter: u8) -> Option<&str> {
    if !delimiter.is_ascii() || memchr::memchr(b'"', bytes).is_some() {
        return None;
    }
    // A bare CR ends a record for the csv crate; keep its reading of such files.
    let bare_cr = memchr::memchr_iter(b'\r', bytes)
        .any(|i| bytes.get(i + 1).is_some_and(|next| *next != b'\n'));
    if bare_cr {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// Splits unquoted text at delimiters and line feeds, instead of with the `csv` crate's
/// byte-by-byte state machine (a quarter of the CPU time of reading a 10 M-row file, by
/// `perf`; the whole read went from 4.95 s to 3.35 s with this).
/// The rows are what the `csv` crate makes of the same text: blank lines are skipped, and a
/// CR before a line feed is trimmed with the field's other whitespace.
fn parse_plain(text: &str, delimiter: u8, first_line: u64, rows: &mut impl RowSink) {
    let bytes = text.as_bytes();
    let mut fields: Vec<&str> = Vec::with_capacity(16);
    let mut field_start = 0;
    let mut line = first_line;
    let mut field_end = |end: usize| {
        // `end` is at an ASCII byte (or the end), so it is a character boundary.
        fields.push(&text[field_start..end]);
        field_start = end + 1;
        if bytes.get(end).is_none_or(|b| *b == b'\n') {
            let blank = fields.len() == 1 && fields[0].trim_ascii().is_empty();
            if !blank {
                rows.push_row(&fields, line);
            }
            fields.clear();
            line += 1;
        }
    };
    for_each_separator(bytes, delimiter, &mut field_end);
    field_end(bytes.len());
}

/// Calls `found` with the position of every `delimiter` and line feed in `bytes`, in order.
///
/// Eight bytes at a time (SWAR) rather than with `memchr2_iter`: in a CSV file a separator
/// comes every few bytes, and memchr's restart after each match cost more than the search
/// itself (bench/clv's 207 MB file on one core, a scratch program, three runs: 150 ms with
/// memchr2_iter, 80 ms this way). memchr has no iterator over a block's mask of matches, and
/// SIMD intrinsics would take `unsafe`.
fn for_each_separator(bytes: &[u8], delimiter: u8, mut found: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The high bit of each zero byte of `word`, exactly: the low seven bits plus 0x7f cannot
    // carry into the next byte, so no byte's result depends on another's.
    let zero_bytes = |word: u64| !((word & LOW7).wrapping_add(LOW7) | word) & !LOW7;
    let delimiters = u64::from_ne_bytes([delimiter; 8]);
    let line_feeds = u64::from_ne_bytes([b'\n'; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        // Little-endian, so that the lowest set bit is the first byte on any machine.
        let word = u64::from_le_bytes(word.try_into().expect("chunks of eight bytes"));
        let mut hits = zero_bytes(word ^ delimiters) | zero_bytes(word ^ line_feeds);
        while hits != 0 {
            found(at + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
        at += 8;
    }
    for (i, byte) in words.remainder().iter().enumerate() {
        if *byte == delimiter || *byte == b'\n' {
            found(at + i);
        }
    }
}

/// Guesses the delimiter from the first lines: the candidate that appears the same number of
/// times on every line wins; whitespace-aligned columns if none does.
fn sniff_delimiter(data: &[u8]) -> Delimiter {
    let lines: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .take(20)
        .collect();
    let count_outside_quotes = |line: &[u8], d: u8| {
        let mut inside = false;
        line.iter()
            .filter(|&&b| {
                if b == b'"' {
                    inside = !inside;
                }
                !inside && b == d
            })
            .count()
    };
    let mut best: Option<(u8, usize)> = None;
    for d in [b',', b'\t', b';', b'|'] {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let first = counts.first().copied().unwrap_or(0);
        if first > 0 && counts.iter().all(|c| *c == first) && best.is_none_or(|(_, n)| first > n) {
            best = Some((d, first));
        }
    }
    if let Some((d, _)) = best {
        return Delimiter::Byte(d);
    }
    let words: Vec<usize> = lines
        .iter()
        .map(|l| {
            l.split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
                .count()
        })
        .collect();
    if words.first().is_some_and(|w| *w > 1) && words.iter().all(|w| *w == words[0]) {
        return Delimiter::Whitespace;
    }
    // Inconsistent: take the most frequent candidate on the header line, else a comma.
    [b',', b'\t', b';', b'|']
        .into_iter()
        .max_by_key(|d| lines.first().map_or(0, |l| count_outside_quotes(l, *d)))
        .filter(|d| {
            lines
                .first()
                .is_some_and(|l| count_outside_quotes(l, *d) > 0)
        })
        .map_or(Delimiter::Byte(b','), Delimiter::Byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::columns::OutputColumn;

    /// Rows as a splitter hands them over: line and fields (trimmed, as the builders read
    /// them), or line and the invalid field.
    #[derive(Default)]
    struct Collected(Vec<(u64, Result<Vec<String>, usize>)>);

    impl RowSink for Collected {
        fn push_row<F: Fields>(&mut self, fields: &F, line: u64) {
            let fields = (0..fields.len())
                .map(|i| fields.get(i).trim_ascii().to_string())
                .collect();
            self.0.push((line, Ok(fields)));
        }
        fn push_invalid_utf8(&mut self, line: u64, field: usize, _raw: &[u8]) {
            self.0.push((line, Err(field)));
        }
    }

    #[test]
    fn plain_splitting_reads_what_the_csv_crate_reads() {
        let inputs: [&[u8]; 9] = [
            b"a,b,c\n1,2,3\n",
            b"a,b,c\n1,2,3",
            b"a,b\n\n\n1,2\n   \n3,4\n",
            b"a,b\r\n1,2\r\n\r\n3,4\r\n",
            b"a,,c\n,\n,,,,\nonly\n",
            b"\n\na;b\n",
            b"caf\xc3\xa9,\xe2\x82\xac5\n",
            b"",
            b",\n",
        ];
        for input in inputs {
            let text = plain_text(input, b',').expect("plain input");
            let (mut plain, mut quoted) = (Collected::default(), Collected::default());
            parse_plain(text, b',', 7, &mut plain);
            parse_quoted(input, b',', 7, &mut quoted);
            assert_eq!(plain.0, quoted.0, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn quoted_rows_keep_their_line_after_blank_lines() {
        let mut rows = Collected::default();
        parse_quoted(b"a,\"x\"\n\n\r\n1,\"2\n3\"\n4,5\n", b',', 2, &mut rows);
        let lines: Vec<u64> = rows.0.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 5, 7]);
        assert_eq!(rows.0[1].1, Ok(vec!["1".to_string(), "2\n3".to_string()]));
    }

    #[test]
    fn quotes_bare_carriage_returns_and_bad_bytes_go_to_the_csv_crate() {
        assert!(plain_text(b"a,\"b,c\"\n", b',').is_none());
        assert!(plain_text(b"a,b\r1,2\r", b',').is_none());
        assert!(plain_text(b"a,b\n\xff,2\n", b',').is_none());
        // A non-ASCII delimiter byte may sit inside a character: "a§b" is a, C2 A7, b.
        assert!(plain_text("a§b\n".as_bytes(), 0xa7).is_none());
        assert!(plain_text(b"a,b\r\n1,2\r", b',').is_some());
    }

    /// The rows (as text, with their lines) and entries of `text` read in blocks of about
    /// `target` bytes.
    fn read_in_blocks(text: &[u8], target: usize) -> (String, Vec<(u64, String)>) {
        use datafusion::arrow::util::pretty::pretty_format_batches;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let source = TextSource::open(&path, None, None).unwrap();
        let columns: Vec<OutputColumn> = source
            .header
            .iter()
            .enumerate()
            .map(|(i, name)| OutputColumn {
                name: name.clone(),
                kind: salesflow_core::ValueKind::Text,
                required: false,
                source: Some(i),
                source_name: Some(name.clone()),
                date_format: None,
            })
            .collect();
        let plan = ColumnPlan {
            columns,
            sources: Vec::new(),
            extra: Vec::new(),
            unread: Vec::new(),
        };
        let schema = super::super::builders::table_schema(&plan);
        let parsed = source
            .parse_in_blocks(
                &plan,
                Locale::DecimalPoint,
                schema,
                2,
                target,
                &salesflow_core::progress::NoProgress,
            )
            .unwrap();
        let table = pretty_format_batches(&parsed.batches).unwrap().to_string();
        let issues = parsed
            .issues
            .iter()
            .map(|i| (i.line, i.message.clone()))
            .collect();
        (table, issues)
    }

    /// The separators are memchr2's matches, for every byte value around them and every
    /// length (the last few bytes are not a whole word).
    #[test]
    fn separators_are_found_as_memchr_finds_them() {
        let mut next = crate::test_support::pseudo_random(0x9e37_79b9_7f4a_7c15u64);
        for len in 0..200 {
            for delimiter in [b',', b';', b'\t', b'|'] {
                // Mostly separators and their neighbours in value (0x0b, 0x2b, 0x2d, 0xac...),
                // then any byte.
                let pool = [
                    delimiter,
                    b'\n',
                    delimiter ^ 1,
                    b'\n' ^ 1,
                    delimiter | 0x80,
                    0,
                    0xff,
                ];
                let bytes: Vec<u8> = (0..len)
                    .map(|_| match next() % 4 {
                        0 => next() as u8,
                        _ => pool[(next() % pool.len() as u64) as usize],
                    })
                    .collect();
                let mut found = Vec::new();
                for_each_separator(&bytes, delimiter, |at| found.push(at));
                let expected: Vec<usize> = memchr::memchr2_iter(delimiter, b'\n', &bytes).collect();
                assert_eq!(found, expected, "{bytes:?}");
            }
        }
    }

    /// Cutting the file into blocks anywhere changes nothing: quoted line breaks, doubled
    /// quotes, CRLF, blank lines, a record longer than a block, a bad row, no final newline.
    #[test]
    fn blocks_of_any_size_read_the_same_rows() {
        let mut text = String::from("\u{feff}id,note,amount\r\n");
        for i in 0..60 {
            match i % 6 {
                0 => text.push_str(&format!("{i},\"two\nlines, \"\"quoted\"\"\",{i}.5\r\n")),
                1 => text.push_str("\r\n\n"),
                2 => text.push_str(&format!("{i},{}\n", "long ".repeat(40))),
                3 => text.push_str(&format!("{i},only two fields\n")),
                4 => text.push_str(&format!("{i},\"\n\n\",x,extra\n")),
                _ => text.push_str(&format!("{i},plain,{i}\n")),
            }
        }
        text.push_str("last,row,1");
        let whole = read_in_blocks(text.as_bytes(), 1 << 20);
        assert!(whole.0.contains("two"), "{}", whole.0);
        assert!(!whole.1.is_empty());
        for target in [1, 7, 40, 333] {
            assert_eq!(
                read_in_blocks(text.as_bytes(), target),
                whole,
                "blocks of {target}"
            );
        }
        // Unquoted text takes the line-feed path.
        let plain = "a,b\n1,2\n3,4\n\n5,6\n";
        let whole = read_in_blocks(plain.as_bytes(), 1 << 20);
        assert_eq!(read_in_blocks(plain.as_bytes(), 3), whole);
    }

    #[test]
    fn last_record_end_skips_line_feeds_inside_quotes() {
        let comma = Delimiter::Byte(b',');
        assert_eq!(last_record_end(b"a,b\nc,d", comma), Some(4));
        assert_eq!(last_record_end(b"a,\"b\nc", comma), None);
        assert_eq!(last_record_end(b"a\n\"x\ny\"\nz,\"q\n", comma), Some(8));
        assert_eq!(last_record_end(b"no line end", comma), None);
        assert_eq!(last_record_end(b"\"a\nb", Delimiter::Whitespace), Some(3));
    }

    #[test]
    fn sniffs_common_delimiters() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3\n"), Delimiter::Byte(b','));
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2;3\n"), Delimiter::Byte(b';'));
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n"), Delimiter::Byte(b'\t'));
        assert_eq!(
            sniff_delimiter(b" 00004 0001 19970101  2   29.33\n 00021 0002 19970101  3   63.34\n"),
            Delimiter::Whitespace
        );
        assert_eq!(
            sniff_delimiter(b"\"a,x\",b\n\"1,2\",3\n"),
            Delimiter::Byte(b',')
        );
    }
}
