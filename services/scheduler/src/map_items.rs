//! Where a Distributed Map run's items come from, one at a time: the items the state's input
//! held, or an `ItemReader`'s S3 object or listing, fetched a chunk or a page at a time
//! (`switchback_asl::item_reader` makes the items of the bytes). Each item comes with the
//! cursor just after it, which the driver commits with the child the item went to.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;
use switchback_asl::failure::Failure;
use switchback_asl::interpreter::MapRunSpec;
use switchback_asl::item_reader::{self, Cursor, InputType, Manifest, ReaderSpec, Source};
use switchback_invoke::s3::{S3, S3Error};

/// The first chunk of an object read at a time; a chunk that holds no whole item doubles.
const CHUNK_BYTES: u64 = 1024 * 1024;
/// The largest chunk, and so the largest item (and the largest object `ItemsPointer` reads).
const MAX_CHUNK_BYTES: u64 = 8 * 1024 * 1024;
/// The most bytes a manifest's data file may take decompressed: a gzip file is read whole (it
/// cannot be read from its middle) and kept while its rows are read.
const MAX_INVENTORY_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Items parsed at a time: a round that needs a few hundred parses about that many, however
/// many the chunk holds.
const ITEMS_PER_PARSE: usize = 1_000;

/// Bytes of an object fetched and not yet all read: kept by the driver between rounds, so
/// that a chunk is fetched once, not once per round.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The data file of a manifest the bytes are of (0 for any other object).
    file: u64,
    start: u64,
    bytes: switchback_invoke::s3::Bytes,
    object_size: u64,
    /// An `ItemsPointer` document's array, parsed once.
    pointed: Option<Arc<Vec<Value>>>,
    /// The S3 Inventory manifest the data file is listed in, read once per run (not per
    /// round) while its data files are read.
    manifest: Option<Arc<Manifest>>,
}

impl Chunk {
    /// The bytes it holds (twice a document's when its array is kept parsed too, and the keys
    /// of a manifest it keeps).
    pub fn len(&self) -> usize {
        let manifest = self
            .manifest
            .as_ref()
            .map_or(0, |m| m.keys.iter().map(String::len).sum());
        self.bytes.len() * if self.pointed.is_some() { 2 } else { 1 } + manifest
    }

    /// The chunk's bytes from `offset` of `file` on, and whether they reach its end; `None`
    /// when the chunk does not hold them.
    fn from(&self, file: u64, offset: u64) -> Option<(&[u8], bool)> {
        let end = self.start + self.bytes.len() as u64;
        if file != self.file || offset < self.start || offset > end {
            return None;
        }
        let at = usize::try_from(offset - self.start).ok()?;
        Some((&self.bytes[at..], end >= self.object_size))
    }
}

pub struct Items<'a> {
    spec: &'a MapRunSpec,
    s3: &'a S3,
    /// After the last item read from the source (ahead of the last one handed out).
    fetched: Cursor,
    buffer: VecDeque<(Value, Cursor)>,
    exhausted: bool,
    chunk: u64,
    cached: Option<Chunk>,
    /// A manifest's contents, read once and kept with the fetched bytes between rounds.
    manifest: Option<Arc<Manifest>>,
}

fn reader_failed(error: &S3Error) -> Failure {
    Failure::new(item_reader::READER_FAILED, error.to_string())
}

impl<'a> Items<'a> {
    /// Reading from `cursor` on (the start when none), with the bytes a previous round
    /// fetched, if any.
    pub fn new(spec: &'a MapRunSpec, s3: &'a S3, cursor: Cursor, cached: Option<Chunk>) -> Self {
        let exhausted = cursor.done;
        let manifest = cached.as_ref().and_then(|c| c.manifest.clone());
        Self {
            spec,
            s3,
            fetched: cursor,
            buffer: VecDeque::new(),
            exhausted,
            chunk: CHUNK_BYTES,
            cached,
            manifest,
        }
    }

    /// The bytes fetched, for the next round.
    pub fn into_cached(self) -> Option<Chunk> {
        self.cached
    }

    /// The next item and the cursor after it; `None` when every item was read.
    pub async fn next(&mut self) -> Result<Option<(Value, Cursor)>, Failure> {
        loop {
            if let Some((item, cursor)) = self.buffer.pop_front() {
                let limit = self
                    .spec
                    .reader
                    .as_ref()
                    .and_then(|reader| reader.max_items);
                // `MaxItems`: the items past it are never read.
                if limit.is_some_and(|max| cursor.items > max) {
                    self.buffer.clear();
                    self.exhausted = true;
                    return Ok(None);
                }
                return Ok(Some((item, cursor)));
            }
            if self.exhausted {
                return Ok(None);
            }
            match &self.spec.reader {
                None => self.inline(),
                Some(reader) => match &reader.source {
                    Source::GetObject {
                        bucket,
                        key,
                        version_id,
                    } if reader.input_type == InputType::Manifest => {
                        self.manifest(reader, bucket, key, version_id.as_deref())
                            .await?
                    }
                    Source::GetObject {
                        bucket,
                        key,
                        version_id,
                    } => {
                        self.object(reader, bucket, key, version_id.as_deref())
                            .await?
                    }
                    Source::ListObjects { bucket, prefix } => self.listing(bucket, prefix).await?,
                },
            }
        }
    }

    fn inline(&mut self) {
        let index = usize::try_from(self.fetched.items).unwrap_or(usize::MAX);
        match self.spec.items.get(index) {
            Some(item) => {
                let cursor = Cursor {
                    items: self.fetched.items + 1,
                    ..Cursor::default()
                };
                self.fetched = cursor.clone();
                self.buffer.push_back((item.clone(), cursor));
            }
            None => self.exhausted = true,
        }
    }

    async fn object(
        &mut self,
        reader: &ReaderSpec,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(), Failure> {
        // `ItemsPointer` needs the whole document (kept while its items are read).
        let pointer = reader.items_pointer.is_some();
        let offset = if pointer { 0 } else { self.fetched.offset };
        let usable = self
            .cached
            .as_ref()
            .is_some_and(|chunk| chunk.from(0, offset).is_some());
        if !usable {
            let length = if pointer { MAX_CHUNK_BYTES } else { self.chunk };
            let range = self
                .s3
                .get_range(bucket, key, version_id, offset, length)
                .await
                .map_err(|e| reader_failed(&e))?;
            self.cached = Some(Chunk {
                file: 0,
                start: offset,
                bytes: range.bytes,
                object_size: range.object_size,
                pointed: None,
                manifest: None,
            });
        }
        let Some((bytes, at_end)) = self.cached.as_ref().and_then(|c| c.from(0, offset)) else {
            return Err(Failure::new(
                item_reader::READER_FAILED,
                "The object changed while it was read",
            ));
        };
        if pointer && !at_end {
            return Err(Failure::new(
                item_reader::READER_FAILED,
                format!(
                    "The object is larger than {MAX_CHUNK_BYTES} bytes, the most ItemsPointer reads"
                ),
            ));
        }
        let parsed = if pointer {
            // The document's array is parsed once and kept with its bytes.
            let pointed = match self.cached.as_ref().and_then(|c| c.pointed.clone()) {
                Some(pointed) => pointed,
                None => {
                    let pointed = Arc::new(item_reader::pointer_array(reader, bytes)?);
                    if let Some(chunk) = self.cached.as_mut() {
                        chunk.pointed = Some(pointed.clone());
                    }
                    pointed
                }
            };
            item_reader::pointer_items(&self.fetched, &pointed, ITEMS_PER_PARSE)
        } else {
            item_reader::parse_object(reader, &self.fetched, bytes, at_end, ITEMS_PER_PARSE)?
        };
        if parsed.items.is_empty() && !parsed.done {
            if self.chunk >= MAX_CHUNK_BYTES {
                return Err(Failure::new(
                    item_reader::READER_FAILED,
                    format!("An item of the object is larger than {MAX_CHUNK_BYTES} bytes"),
                ));
            }
            // The item goes past the bytes in hand: fetch more, from where it starts.
            self.chunk *= 2;
            self.cached = None;
            return Ok(());
        }
        self.chunk = CHUNK_BYTES;
        if let Some((_, last)) = parsed.items.last() {
            self.fetched = last.clone();
        }
        self.buffer.extend(parsed.items);
        if parsed.done {
            self.exhausted = true;
        }
        Ok(())
    }

    /// An S3 Inventory: the rows of the data files its manifest lists, one file after another,
    /// each file read whole (and decompressed) once and kept between rounds.
    async fn manifest(
        &mut self,
        reader: &ReaderSpec,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(), Failure> {
        if self.manifest.is_none() {
            let text = self.whole(bucket, key, version_id).await?;
            self.manifest = Some(Arc::new(item_reader::parse_manifest(&text)?));
        }
        let Some(manifest) = self.manifest.clone() else {
            return Ok(());
        };
        let rows = ReaderSpec {
            csv_headers: Some(manifest.headers.clone()),
            ..reader.clone()
        };
        loop {
            let file = self.fetched.file;
            let Some(data_key) = usize::try_from(file)
                .ok()
                .and_then(|i| manifest.keys.get(i))
            else {
                self.exhausted = true;
                return Ok(());
            };
            let held = self
                .cached
                .as_ref()
                .is_some_and(|c| c.from(file, self.fetched.offset).is_some());
            if !held {
                let bytes = self.whole(&manifest.bucket, data_key, None).await?;
                let bytes = if data_key.ends_with(".gz") {
                    // Decompressing up to 64 MiB is work for a blocking thread, not the runtime.
                    tokio::task::spawn_blocking(move || gunzip(&bytes))
                        .await
                        .map_err(|e| {
                            Failure::new(
                                item_reader::READER_FAILED,
                                format!("An inventory file could not be decompressed: {e}"),
                            )
                        })??
                } else {
                    bytes
                };
                let size = bytes.len() as u64;
                self.cached = Some(Chunk {
                    file,
                    start: 0,
                    bytes: bytes.into(),
                    object_size: size,
                    pointed: None,
                    manifest: Some(manifest.clone()),
                });
            }
            let Some((bytes, _)) = self
                .cached
                .as_ref()
                .and_then(|c| c.from(file, self.fetched.offset))
            else {
                return Err(Failure::new(
                    item_reader::READER_FAILED,
                    "The inventory file changed while it was read",
                ));
            };
            let parsed =
                item_reader::parse_object(&rows, &self.fetched, bytes, true, ITEMS_PER_PARSE)?;
            let mut items = parsed.items;
            if parsed.done {
                // The file's last rows: the next read starts at the next file.
                let next = |cursor: &mut Cursor| {
                    cursor.file += 1;
                    cursor.offset = 0;
                };
                match items.last_mut() {
                    Some((_, last)) => next(last),
                    None => {
                        next(&mut self.fetched);
                        continue;
                    }
                }
            }
            if let Some((_, last)) = items.last() {
                self.fetched = last.clone();
            }
            self.buffer.extend(items);
            return Ok(());
        }
    }

    /// A whole object of at most 8 MiB.
    async fn whole(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Vec<u8>, Failure> {
        let range = self
            .s3
            .get_range(bucket, key, version_id, 0, MAX_CHUNK_BYTES)
            .await
            .map_err(|e| reader_failed(&e))?;
        if (range.bytes.len() as u64) < range.object_size {
            return Err(Failure::new(
                item_reader::READER_FAILED,
                format!(
                    "The object {key} is larger than {MAX_CHUNK_BYTES} bytes, the most read whole"
                ),
            ));
        }
        Ok(range.bytes.to_vec())
    }

    async fn listing(&mut self, bucket: &str, prefix: &str) -> Result<(), Failure> {
        let page = self
            .s3
            .list(bucket, prefix, self.fetched.last_key.as_deref())
            .await
            .map_err(|e| reader_failed(&e))?;
        let count = page.objects.len();
        let numbered = (self.fetched.items + 1..).zip(page.objects.iter().enumerate());
        for (items, (i, object)) in numbered {
            let cursor = Cursor {
                items,
                last_key: Some(object.key.clone()),
                done: i + 1 == count && !page.truncated,
                ..Cursor::default()
            };
            let modified = time::OffsetDateTime::parse(
                &object.last_modified,
                &time::format_description::well_known::Rfc3339,
            )
            .map(|t| t.unix_timestamp())
            .unwrap_or(0);
            let item = item_reader::listed_object(
                &object.key,
                object.size,
                &object.etag,
                modified,
                &object.storage_class,
            );
            self.buffer.push_back((item, cursor));
        }
        if let Some((_, last)) = self.buffer.back() {
            self.fetched = last.clone();
        }
        if !page.truncated || count == 0 {
            self.exhausted = true;
        }
        Ok(())
    }
}

/// A gzip file's contents, at most [`MAX_INVENTORY_FILE_BYTES`] of them.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_INVENTORY_FILE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            Failure::new(
                item_reader::READER_FAILED,
                format!("An inventory file could not be decompressed: {e}"),
            )
        })?;
    if out.len() as u64 > MAX_INVENTORY_FILE_BYTES {
        return Err(Failure::new(
            item_reader::READER_FAILED,
            format!(
                "An inventory file is larger than {MAX_INVENTORY_FILE_BYTES} bytes decompressed"
            ),
        ));
    }
    Ok(out)
}
